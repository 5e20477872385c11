/*
 * county.c - the test county of county.h.
 */
#include "county.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

static uint64_t clock_ms(void *ctx)
{
	return ((fixture *)ctx)->now;
}

static void rand_fn(void *ctx, void *buf, size_t len)
{
	fixture *f = ctx;
	uint8_t seed[32] = {0};

	f->counter++;
	memcpy(seed, &f->counter, sizeof(f->counter));
	randombytes_buf_deterministic(buf, len, seed);
}

static void mknode(fixture *f, int i, cn_level level, const char *code)
{
	cn_diag d = {{0}};
	char base[64];

	memcpy(base, f->dir, sizeof(base));
	snprintf(f->path[i], sizeof(f->path[i]), "%s/n%d", base, i);
	if (cn_node_init(f->path[i], level, code, &f->env, &d))
		fail_msg("init %s: %s", code, d.text);
}

static void join(fixture *f, int i, const uint8_t *chain, size_t len)
{
	char ca_pub[160], net[160];
	uint8_t *pub = NULL, root[32];
	size_t plen;
	cn_diag d = {{0}};

	snprintf(ca_pub, sizeof(ca_pub), "%s/ca/root.pub", f->dir);
	snprintf(net, sizeof(net), "%s/ca/network.key", f->dir);
	assert_int_equal(cn_file_read(ca_pub, 256, &pub, &plen, &d), CN_OK);
	assert_true(cn_unhex((char *)pub, 64, root, 32));
	free(pub);
	if (cn_enrol_join(f->path[i], chain, len, root, net, &f->env, &d))
		fail_msg("join %d: %s", i, d.text);
	assert_int_equal(cn_node_open(f->path[i], false, &f->env, &f->node[i], &d), CN_OK);
}

static void enrol_root(fixture *f, int i, cn_role role, const char *code)
{
	char ca[160];
	cn_enrol_request req = {.role = role, .days = 365};
	uint8_t *chain = NULL;
	size_t len;
	cn_diag d = {{0}};
	cn_node *tmp = NULL;

	snprintf(ca, sizeof(ca), "%s/ca", f->dir);
	assert_int_equal(cn_node_open(f->path[i], true, &f->env, &tmp, &d), CN_OK);
	memcpy(req.subject, cn_node_pubkey(tmp), 32);
	cn_node_close(tmp);
	memcpy(req.code, code, 13);
	if (cn_enrol_issue_root(ca, &req, &f->env, &chain, &len, &d))
		fail_msg("issue %s: %s", code, d.text);
	join(f, i, chain, len);
	free(chain);
}

static void enrol_by(fixture *f, int issuer, int i, const char *code)
{
	cn_enrol_request req = {.role = CN_ROLE_VILLAGE, .days = 365};
	uint8_t *chain = NULL;
	size_t len;
	cn_diag d = {{0}};
	cn_node *tmp = NULL;

	assert_int_equal(cn_node_open(f->path[i], true, &f->env, &tmp, &d), CN_OK);
	memcpy(req.subject, cn_node_pubkey(tmp), 32);
	cn_node_close(tmp);
	memcpy(req.code, code, 13);
	if (cn_enrol_issue_node(f->node[issuer], &req, &chain, &len, &d))
		fail_msg("enrol %s: %s", code, d.text);
	join(f, i, chain, len);
	free(chain);
}

int county_setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));
	char ca[160];
	cn_diag d = {{0}};

	strcpy(f->dir, "/tmp/cn-test-county.");
	memset(f->dir + strlen(f->dir), 'X', 6); /* the mkdtemp template */
	assert_non_null(mkdtemp(f->dir));
	f->now = NOW_MS;
	f->env = (cn_env){clock_ms, rand_fn, f, NULL};
	snprintf(ca, sizeof(ca), "%s/ca", f->dir);
	assert_int_equal(cn_enrol_ca_init(ca, COUNTY, &f->env, &d), CN_OK);
	mknode(f, N_T1, CN_LEVEL_TOWNSHIP, T1);
	mknode(f, N_V1, CN_LEVEL_VILLAGE, V1);
	mknode(f, N_V2, CN_LEVEL_VILLAGE, V2);
	mknode(f, N_T2, CN_LEVEL_TOWNSHIP, T2);
	mknode(f, N_V3, CN_LEVEL_VILLAGE, V3);
	mknode(f, N_POLICE, CN_LEVEL_COUNTY, COUNTY);
	mknode(f, N_STRAY, CN_LEVEL_VILLAGE, V1); /* never enrolled */
	mknode(f, N_COUNTY, CN_LEVEL_COUNTY, COUNTY);
	enrol_root(f, N_T1, CN_ROLE_TOWNSHIP, T1);
	enrol_root(f, N_T2, CN_ROLE_TOWNSHIP, T2);
	enrol_root(f, N_POLICE, CN_ROLE_POLICE, COUNTY);
	enrol_root(f, N_COUNTY, CN_ROLE_COUNTY, COUNTY);
	enrol_by(f, N_T1, N_V1, V1);
	enrol_by(f, N_T1, N_V2, V2);
	enrol_by(f, N_T2, N_V3, V3);
	assert_int_equal(cn_node_open(f->path[N_STRAY], false, &f->env, &f->node[N_STRAY], &d),
			 CN_OK);
	*state = f;
	return 0;
}

int county_teardown(void **state)
{
	fixture *f = *state;
	char cmd[128];

	for (int i = 0; i < N_NODES; i++)
		cn_node_close(f->node[i]);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

/* ---- moving ops between nodes ---- */

void county_add_child(fixture *f, int i, const char *village, int order)
{
	char id[19];
	uint8_t rec[16];
	cn_diag d = {{0}};
	cn_input in[] = {{"name", "王小明"},
			 {"id_number", id},
			 {"household_address", "利津县一街1号"},
			 {"village_code", village}};

	snprintf(id, sizeof(id), "370522201203%02u%03u", (unsigned)(10 + order % 18) % 100u,
		 (unsigned)(100 + order) % 1000u);
	id[17] = cn_model_idnum_check_char(id);
	id[18] = 0;
	if (cn_ledger_child_add(f->node[i], "联络员", in, 4, NULL, 0, rec, &d))
		fail_msg("add child: %s", d.text);
}

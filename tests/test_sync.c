/*
 * test_sync.c - the sync engine between real nodes (issue #3, R3, R11.1):
 * a county, two townships and three villages, enrolled by a real county
 * root, edit offline, then exchange through cn_sync_run and cn_sync_serve
 * (the same code the NNG link runs, called in-process here). Afterwards
 * every jurisdiction's state digest agrees everywhere it is held, a village
 * holds no other village's child, a cut exchange resumes without doubling
 * anything, an idle exchange costs one small round trip, and concurrent
 * edits to a guardian show the same value everywhere with one open
 * conflict.
 */
#include "county.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "carenode/sync.h"

/* ---- an in-process link: the child's requests served by the parent ---- */

typedef struct link {
	fixture *f;
	int parent, child;
	cn_rights rights;
	int fail_after; /* cut the link after this many round trips (0: never) */
	int calls;
	uint64_t sent, received;
} link;

static cn_err serve_rt(void *ctx, const uint8_t *req, size_t len, uint8_t **resp, size_t *rlen,
		       cn_diag *diag)
{
	link *l = ctx;
	char name[32];

	if (l->fail_after && ++l->calls > l->fail_after) {
		cn_diag_set(diag, "link cut");
		return CN_ERR_IO;
	}
	snprintf(name, sizeof(name), "node%d", l->child);
	l->sent += len;
	return cn_sync_serve(l->f->node[l->parent], name, &l->rights, req, len, resp, rlen, diag);
}

static void link_init(fixture *f, link *l, int child, int parent)
{
	cn_cert certs[CN_CHAIN_MAX];
	uint8_t root[32];
	size_t n;
	cn_diag d = {{0}};

	memset(l, 0, sizeof(*l));
	l->f = f;
	l->parent = parent;
	l->child = child;
	assert_int_equal(cn_enrol_load(f->path[child], certs, &n, root, &d), CN_OK);
	cn_scope_rights(&certs[0], &l->rights);
}

static cn_err sync_once(fixture *f, int child, int parent, size_t batch, cn_sync_stats *st,
			cn_diag *d)
{
	link l;
	char name[32];

	link_init(f, &l, child, parent);
	snprintf(name, sizeof(name), "node%d", parent);
	return cn_sync_run(f->node[child], name, serve_rt, &l, batch, st, d);
}

static void sync_ok(fixture *f, int child, int parent)
{
	cn_sync_stats st;
	cn_diag d = {{0}};

	if (sync_once(f, child, parent, 0, &st, &d))
		fail_msg("sync %d -> %d: %s", child, parent, d.text);
	assert_int_equal(st.quarantined, 0);
	assert_int_equal(st.parent_quarantined, 0);
}

static void digest_of(fixture *f, int i, const char *scope, char out[65])
{
	uint8_t h[32];

	ok(cn_proj_digest(cn_store_proj(cn_node_store(f->node[i])), scope, h, &d_));
	cn_hex(h, 32, out);
}

static int64_t count(fixture *f, int i, const char *sql)
{
	sqlite3_stmt *st = NULL;
	int64_t v = -1;

	assert_int_equal(
		sqlite3_prepare_v2(cn_store_db(cn_node_store(f->node[i])), sql, -1, &st, NULL),
		SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* Everyone edits offline, then up (villages, townships) and down. */
static void hierarchy_round(fixture *f)
{
	sync_ok(f, N_V1, N_T1);
	sync_ok(f, N_V2, N_T1);
	sync_ok(f, N_V3, N_T2);
	sync_ok(f, N_T1, N_COUNTY);
	sync_ok(f, N_T2, N_COUNTY);
	sync_ok(f, N_T1, N_COUNTY);
	sync_ok(f, N_T2, N_COUNTY);
	sync_ok(f, N_V1, N_T1);
	sync_ok(f, N_V2, N_T1);
	sync_ok(f, N_V3, N_T2);
}

static void test_sync_hierarchy_converges(void **state)
{
	fixture *f = *state;
	char a[65], b[65], c[65];

	for (int k = 0; k < 3; k++) {
		county_add_child(f, N_V1, V1, 10 + k);
		county_add_child(f, N_V2, V2, 20 + k);
		county_add_child(f, N_V3, V3, 30 + k);
	}
	county_add_child(f, N_T1, V1, 42);     /* a township files in its villages: */
	county_add_child(f, N_T1, V2, 40);     /* V2 gets this one, V1's withheld */
	county_add_child(f, N_COUNTY, V3, 41); /* the county files in a village of the other */
	hierarchy_round(f);

	/* each village's state agrees at the village, its township, the county
	 * (scoped: a village also holds other nodes' certificates) */
	digest_of(f, N_V1, V1, a);
	digest_of(f, N_T1, V1, b);
	digest_of(f, N_COUNTY, V1, c);
	assert_string_equal(a, b);
	assert_string_equal(a, c);
	digest_of(f, N_V2, V2, a);
	digest_of(f, N_T1, V2, b);
	digest_of(f, N_COUNTY, V2, c);
	assert_string_equal(a, b);
	assert_string_equal(a, c);
	digest_of(f, N_V3, V3, a);
	digest_of(f, N_T2, V3, b);
	digest_of(f, N_COUNTY, V3, c);
	assert_string_equal(a, b);
	assert_string_equal(a, c);
	/* the township's whole scope agrees with the county's view of it */
	digest_of(f, N_T1, "370522101", a);
	digest_of(f, N_COUNTY, "370522101", b);
	assert_string_equal(a, b);
	/* the county sees every child, a village only its own */
	assert_int_equal(count(f, N_COUNTY, "SELECT count(*) FROM child"), 12);
	assert_int_equal(count(f, N_T1, "SELECT count(*) FROM child"), 8);
	assert_int_equal(count(f, N_V1, "SELECT count(*) FROM child"), 4);
	assert_int_equal(
		count(f, N_V1, "SELECT count(*) FROM child WHERE village_code != '" V1 "'"), 0);
	assert_int_equal(count(f, N_V2, "SELECT count(*) FROM child"), 4);
	assert_int_equal(count(f, N_V3, "SELECT count(*) FROM child"), 4);
	/* every node's log still verifies, withheld ranges included */
	for (int i = 0; i < N_NODES; i++) {
		uint64_t n;
		if (i == N_STRAY || i == N_POLICE)
			continue;
		ok(cn_store_verify(cn_node_store(f->node[i]), &n, &d_));
	}
	assert_true(count(f, N_V2, "SELECT count(*) FROM ops WHERE skip_from IS NOT NULL") > 0);
}

static void test_sync_idle_is_one_small_round_trip(void **state)
{
	fixture *f = *state;
	cn_sync_stats st;
	cn_diag d = {{0}};

	county_add_child(f, N_V1, V1, 1);
	hierarchy_round(f);
	assert_int_equal(sync_once(f, N_V1, N_T1, 0, &st, &d), CN_OK);
	assert_int_equal(st.round_trips, 1);
	assert_int_equal(st.pushed, 0);
	assert_int_equal(st.pulled, 0);
	assert_true(st.bytes_sent < 64);
	assert_true(st.bytes_received < 64);
}

/* What a child pushed is not sent back to it. */
static void test_sync_no_echo(void **state)
{
	fixture *f = *state;
	cn_sync_stats st;
	cn_diag d = {{0}};

	for (int k = 0; k < 10; k++)
		county_add_child(f, N_V1, V1, 60 + k);
	assert_int_equal(sync_once(f, N_V1, N_T1, 0, &st, &d), CN_OK);
	assert_int_equal(st.pushed, 11); /* its certificate and ten children */
	assert_int_equal(st.parent_applied, 11);
	assert_int_equal(st.pulled, 1); /* only the township's certificate */
	assert_int_equal(st.duplicate, 0);
}

static void test_sync_cut_link_resumes(void **state)
{
	fixture *f = *state;
	cn_sync_stats st;
	cn_diag d = {{0}};
	link l;
	char want[65], got[65];
	int cuts = 0;

	for (int k = 0; k < 40; k++)
		county_add_child(f, N_V1, V1, 100 + k);
	/* small batches, and the link cut after every second round trip */
	for (;;) {
		cn_err err;
		link_init(f, &l, N_V1, N_T1);
		l.fail_after = 2;
		err = cn_sync_run(f->node[N_V1], "node0", serve_rt, &l, 2048, &st, &d);
		if (!err)
			break;
		assert_int_equal(err, CN_ERR_IO);
		cn_diag_clear(&d);
		assert_true(++cuts < 100);
	}
	assert_true(cuts > 3);
	/* nothing lost, nothing doubled */
	assert_int_equal(count(f, N_T1, "SELECT count(*) FROM child"), 40);
	/* both hold the village's 41 ops and the township's certificate */
	assert_int_equal(count(f, N_T1, "SELECT count(*) FROM ops WHERE skip_from IS NULL"),
			 count(f, N_V1, "SELECT count(*) FROM ops WHERE skip_from IS NULL"));
	assert_int_equal(count(f, N_T1, "SELECT count(*) FROM ops"), 42);
	digest_of(f, N_V1, V1, want);
	digest_of(f, N_T1, V1, got);
	assert_string_equal(want, got);
}

static void test_sync_concurrent_guardian_edits(void **state)
{
	fixture *f = *state;
	uint8_t rec[16];
	char id[19], av[65], bv[65], cv[65];
	cn_input g[] = {{"guardian_type", "grandparent"}, {"name", "张奶奶"}, {"relation", "祖母"}};
	cn_input g1[] = {{"name", "李爷爷"}};
	cn_input g2[] = {{"name", "王姑姑"}, {"guardian_type", "other_relative"}};
	cn_diag d = {{0}};

	county_add_child(f, N_V1, V1, 7);
	snprintf(id, sizeof(id), "370522201203%02d%03d", 17, 107);
	id[17] = cn_model_idnum_check_char(id);
	id[18] = 0;
	ok(cn_ledger_find_child(f->node[N_V1], id, rec, &d_));
	ok(cn_ledger_guardian_set(f->node[N_V1], "联络员", rec, g, 3, &d_));
	hierarchy_round(f);
	/* offline, the village and the township change the guardian */
	f->now += 1000;
	ok(cn_ledger_guardian_set(f->node[N_V1], "联络员", rec, g1, 1, &d_));
	ok(cn_ledger_guardian_set(f->node[N_T1], "专干", rec, g2, 2, &d_));
	hierarchy_round(f);
	hierarchy_round(f);
	digest_of(f, N_V1, V1, av);
	digest_of(f, N_T1, V1, bv);
	digest_of(f, N_COUNTY, V1, cv);
	assert_string_equal(av, bv);
	assert_string_equal(av, cv);
	/* one open conflict on the guardian's name, both values kept */
	assert_int_equal(count(f, N_V1, "SELECT count(DISTINCT field) FROM conflicts"), 1);
	assert_int_equal(count(f, N_V1, "SELECT count(*) FROM conflicts WHERE field = 'name'"), 2);
	assert_int_equal(count(f, N_COUNTY, "SELECT count(*) FROM conflicts WHERE field = 'name'"),
			 2);
	/* the guardian type changed on one side only: no conflict, it wins */
	assert_int_equal(count(f, N_V1,
			       "SELECT count(*) FROM guardian WHERE guardian_type = "
			       "'other_relative'"),
			 1);
	(void)d;
}

/* The resident ID county_add_child gives the child of this order. */
static void child_idnum(int order, char id[19])
{
	snprintf(id, 19, "370522201203%02u%03u", (unsigned)(10 + order % 18) % 100u,
		 (unsigned)(100 + order) % 1000u);
	id[17] = cn_model_idnum_check_char(id);
	id[18] = 0;
}

/* Does the node's database file hold these bytes anywhere (pages, free
 * pages, the write-ahead log)? */
static bool file_holds(fixture *f, int i, const char *needle)
{
	const char *suffix[] = {"", "-wal"};
	bool found = false;

	for (size_t k = 0; k < 2 && !found; k++) {
		char path[256];
		FILE *fp;
		snprintf(path, sizeof(path), "%s/carenode.db%s", f->path[i], suffix[k]);
		if (!(fp = fopen(path, "rb")))
			continue;
		fseek(fp, 0, SEEK_END);
		long size = ftell(fp);
		fseek(fp, 0, SEEK_SET);
		char *buf = malloc(size > 0 ? (size_t)size : 1);
		assert_non_null(buf);
		if (size > 0 && fread(buf, 1, (size_t)size, fp) == (size_t)size)
			found = memmem(buf, (size_t)size, needle, strlen(needle)) != NULL;
		free(buf);
		fclose(fp);
	}
	return found;
}

static void verify_all(fixture *f)
{
	for (int i = 0; i < N_NODES; i++) {
		uint64_t n;
		cn_diag d = {{0}};
		if (i == N_STRAY || i == N_POLICE)
			continue;
		if (cn_store_verify(cn_node_store(f->node[i]), &n, &d))
			fail_msg("verify node %d: %s", i, d.text);
	}
}

static void scopes_agree(fixture *f)
{
	static const struct {
		const char *scope;
		int holders[3];
	} s[] = {{V1, {N_V1, N_T1, N_COUNTY}},
		 {V2, {N_V2, N_T1, N_COUNTY}},
		 {V3, {N_V3, N_T2, N_COUNTY}},
		 {"370522101", {N_T1, N_COUNTY, N_T1}},
		 {"370522102", {N_T2, N_COUNTY, N_T2}}};

	for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++) {
		char a[65], b[65], c[65];
		digest_of(f, s[i].holders[0], s[i].scope, a);
		digest_of(f, s[i].holders[1], s[i].scope, b);
		digest_of(f, s[i].holders[2], s[i].scope, c);
		if (strcmp(a, b) || strcmp(a, c))
			fail_msg("scope %s differs between nodes %d, %d, %d", s[i].scope,
				 s[i].holders[0], s[i].holders[1], s[i].holders[2]);
	}
}

/* Issue #3, records that move: the township moves a child from one of
 * its villages to another. The new village gets the file with its whole
 * history (guardian, assessment, visits), the old one forgets it (only
 * the move stays, as a tombstone, and not one byte of the file is left in
 * its database), and what the old village did meanwhile is neither lost
 * nor silent: it reaches the new village and shows as an open item. */
static void test_sync_child_moves_within_township(void **state)
{
	fixture *f = *state;
	uint8_t rec[16];
	char id[19], hex[33], sql[256];
	cn_input g[] = {{"guardian_type", "grandparent"}, {"name", "张奶奶"}, {"relation", "祖母"}};
	cn_input a[] = {{"date", "2026-06-01"}, {"result", "good"},       {"assessor", "专干"},
			{"safety", "安全"},     {"guardianship", "良好"}, {"health", "健康"}};
	cn_input v[] = {{"date", "2026-06-10"},
			{"visitor", "联络员"},
			{"visit_type", "party_cadre"},
			{"findings", "家中一切正常"}};
	cn_input late[] = {{"date", "2026-06-14"},
			   {"visitor", "联络员"},
			   {"visit_type", "party_cadre"},
			   {"findings", "迁移前最后一次走访"}};
	cn_input note[] = {{"notes", "迁移当天在原村补记"}};
	cn_diag d = {{0}};

	county_add_child(f, N_V1, V1, 7);
	county_add_child(f, N_V1, V1, 8); /* stays */
	child_idnum(7, id);
	ok(cn_ledger_find_child(f->node[N_V1], id, rec, &d_));
	cn_hex(rec, 16, hex);
	ok(cn_ledger_guardian_set(f->node[N_V1], "联络员", rec, g, 3, &d_));
	ok(cn_ledger_event_add(f->node[N_V1], "联络员", "assessment", rec, a, 6, NULL, &d_));
	ok(cn_ledger_event_add(f->node[N_V1], "联络员", "visit", rec, v, 4, NULL, &d_));
	hierarchy_round(f);
	assert_true(file_holds(f, N_V1, id));
	assert_false(file_holds(f, N_V2, id));

	/* a village cannot move a child: it does not hold the other village */
	assert_int_equal(cn_ledger_child_move(f->node[N_V1], "联络员", rec, V2, &d), CN_ERR_DENIED);
	assert_non_null(strstr(d.text, "jurisdiction"));
	/* the township moves it; meanwhile, offline, the old village edits it */
	f->now += 1000;
	ok(cn_ledger_child_move(f->node[N_T1], "专干", rec, V2, &d_));
	ok(cn_ledger_child_update(f->node[N_V1], "联络员", rec, note, 1, &d_));
	ok(cn_ledger_event_add(f->node[N_V1], "联络员", "visit", rec, late, 4, NULL, &d_));
	hierarchy_round(f);
	hierarchy_round(f);

	/* the new village holds the whole file and the late edits; a late
	 * edit is not yet the file's value: nobody there has seen it */
	snprintf(sql, sizeof(sql),
		 "SELECT count(*) FROM child WHERE id = x'%s' AND village_code = '" V2
		 "' AND notes IS NULL AND division = '" V2 "'",
		 hex);
	assert_int_equal(count(f, N_V2, sql), 1);
	assert_int_equal(count(f, N_COUNTY, sql), 1);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM visit WHERE child = '%s'", hex);
	assert_int_equal(count(f, N_V2, sql), 2);
	assert_int_equal(count(f, N_COUNTY, sql), 2);
	snprintf(sql, sizeof(sql),
		 "SELECT count(*) FROM assessment WHERE child = '%s' AND division = '" V2 "'", hex);
	assert_int_equal(count(f, N_V2, sql), 1);
	snprintf(sql, sizeof(sql),
		 "SELECT count(*) FROM guardian WHERE child = '%s' AND name = '张奶奶'", hex);
	assert_int_equal(count(f, N_V2, sql), 1);
	assert_true(count(f, N_V2, "SELECT count(*) FROM history") > 0);
	/* the late edit and the late visit are open items where the child is,
	 * next to the move, the same everywhere */
	snprintf(sql, sizeof(sql),
		 "SELECT count(*) FROM conflicts WHERE record = x'%s' AND field = 'location'", hex);
	assert_int_equal(count(f, N_V2, sql), 3);
	assert_int_equal(count(f, N_T1, sql), 3);
	assert_int_equal(count(f, N_COUNTY, sql), 3);
	snprintf(sql, sizeof(sql),
		 "SELECT count(*) FROM conflicts WHERE record = x'%s' AND field = 'location' AND "
		 "value = x'ac"
		 "%s'",
		 hex, "333730353232313031323031"); /* msgpack str "370522101201" */
	assert_int_equal(count(f, N_COUNTY, sql), 2);

	/* the old village keeps only the move: a row that says where the
	 * child went, nothing else, and no byte of the file */
	snprintf(sql, sizeof(sql),
		 "SELECT count(*) FROM child WHERE id = x'%s' AND name IS NULL AND village_code = "
		 "'" V2 "' AND moved_from = '" V1 "'",
		 hex);
	assert_int_equal(count(f, N_V1, sql), 1);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM visit WHERE child = '%s'", hex);
	assert_int_equal(count(f, N_V1, sql), 0);
	assert_false(file_holds(f, N_V1, id));
	assert_false(file_holds(f, N_V1, "张奶奶"));
	assert_true(file_holds(f, N_V2, id));
	/* the other child of the old village is untouched */
	assert_int_equal(count(f, N_V1, "SELECT count(*) FROM child WHERE name IS NOT NULL"), 1);
	/* and the old village is told, in words, when it tries to edit */
	cn_diag_clear(&d);
	assert_int_equal(cn_ledger_child_update(f->node[N_V1], "联络员", rec, note, 1, &d),
			 CN_ERR_DENIED);
	assert_non_null(strstr(d.text, "moved to"));

	scopes_agree(f);
	verify_all(f);
	/* rebuilding from the log gives the same state (history included) */
	{
		char before[65], after[65];
		uint64_t n;
		digest_of(f, N_V2, NULL, before);
		ok(cn_store_rebuild(cn_node_store(f->node[N_V2]), &n, &d_));
		digest_of(f, N_V2, NULL, after);
		assert_string_equal(before, after);
		digest_of(f, N_V1, NULL, before);
		ok(cn_store_rebuild(cn_node_store(f->node[N_V1]), &n, &d_));
		digest_of(f, N_V1, NULL, after);
		assert_string_equal(before, after);
	}

	/* the new village confirms the place, based on the late edits: the
	 * open item closes everywhere */
	{
		cn_input same[] = {{"village_code", V2}};
		ok(cn_ledger_child_update(f->node[N_V2], "联络员", rec, same, 1, &d_));
	}
	hierarchy_round(f);
	snprintf(sql, sizeof(sql),
		 "SELECT count(*) FROM conflicts WHERE record = x'%s' AND field = 'location'", hex);
	assert_int_equal(count(f, N_V2, sql), 0);
	assert_int_equal(count(f, N_COUNTY, sql), 0);
	/* and what the old village wrote is now the file's value */
	snprintf(sql, sizeof(sql),
		 "SELECT count(*) FROM child WHERE id = x'%s' AND notes = '迁移当天在原村补记'",
		 hex);
	assert_int_equal(count(f, N_V2, sql), 1);
	assert_int_equal(count(f, N_COUNTY, sql), 1);
	scopes_agree(f);
}

/* Between townships the county moves the child: the new township and its
 * village receive the history, the old township and village forget it. */
static void test_sync_child_moves_between_townships(void **state)
{
	fixture *f = *state;
	uint8_t rec[16];
	char id[19], hex[33], sql[256];
	cn_input v[] = {{"date", "2026-06-10"},
			{"visitor", "联络员"},
			{"visit_type", "party_cadre"},
			{"findings", "家中一切正常"}};
	cn_diag d = {{0}};

	county_add_child(f, N_V1, V1, 9);
	child_idnum(9, id);
	ok(cn_ledger_find_child(f->node[N_V1], id, rec, &d_));
	cn_hex(rec, 16, hex);
	ok(cn_ledger_event_add(f->node[N_V1], "联络员", "visit", rec, v, 4, NULL, &d_));
	hierarchy_round(f);
	/* a township cannot move a child out of its township */
	assert_int_equal(cn_ledger_child_move(f->node[N_T1], "专干", rec, V3, &d), CN_ERR_DENIED);
	f->now += 1000;
	ok(cn_ledger_child_move(f->node[N_COUNTY], "民政局", rec, V3, &d_));
	hierarchy_round(f);
	hierarchy_round(f);

	snprintf(sql, sizeof(sql), "SELECT count(*) FROM visit WHERE child = '%s'", hex);
	assert_int_equal(count(f, N_V3, sql), 1);
	assert_int_equal(count(f, N_T2, sql), 1);
	assert_int_equal(count(f, N_T1, sql), 0);
	assert_int_equal(count(f, N_V1, sql), 0);
	snprintf(sql, sizeof(sql),
		 "SELECT count(*) FROM child WHERE id = x'%s' AND name IS NOT NULL AND "
		 "village_code = '" V3 "'",
		 hex);
	assert_int_equal(count(f, N_V3, sql), 1);
	assert_int_equal(count(f, N_T2, sql), 1);
	assert_int_equal(count(f, N_COUNTY, sql), 1);
	assert_false(file_holds(f, N_T1, id));
	assert_false(file_holds(f, N_V1, id));
	assert_false(file_holds(f, N_V2, id));
	scopes_agree(f);
	verify_all(f);
}

static int64_t quarantined(fixture *f, int i)
{
	return count(f, i, "SELECT count(*) FROM quarantine");
}

/* Closes node i, restores it from backup, opens it again. */
static void restore_node(fixture *f, int i, const char *backup)
{
	cn_node_close(f->node[i]);
	f->node[i] = NULL;
	ok(cn_node_restore(f->path[i], backup, &f->env, &d_));
	ok(cn_node_open(f->path[i], false, &f->env, &f->node[i], &d_));
}

/* Issue #3 and #7: a village restored from a backup fetches its own ops
 * made after the backup from its parent before it may write, so its chain
 * cannot fork and nothing it did is lost. */
static void test_sync_restored_village_fetches_its_head(void **state)
{
	fixture *f = *state;
	char bak[128];
	cn_diag d = {{0}};

	county_add_child(f, N_V1, V1, 11);
	hierarchy_round(f);
	snprintf(bak, sizeof(bak), "%s/v1.backup", f->dir);
	ok(cn_store_backup(cn_node_store(f->node[N_V1]), bak, &d_));
	/* a backup never overwrites */
	assert_int_equal(cn_store_backup(cn_node_store(f->node[N_V1]), bak, &d), CN_ERR_EXISTS);
	/* work after the backup reaches the township, then the laptop dies */
	f->now += 1000;
	county_add_child(f, N_V1, V1, 12);
	county_add_child(f, N_V1, V1, 13);
	sync_ok(f, N_V1, N_T1);
	assert_int_equal(count(f, N_V1, "SELECT count(*) FROM child"), 3);
	restore_node(f, N_V1, bak);
	assert_int_equal(count(f, N_V1, "SELECT count(*) FROM child"), 1);
	assert_true(cn_node_needs_head(f->node[N_V1]));
	/* writing now would fork the chain: refused, and says what to do */
	{
		uint8_t rec[16];
		char id[19];
		cn_input in[] = {{"name", "李小花"},
				 {"id_number", id},
				 {"household_address", "利津县二街2号"},
				 {"village_code", V1}};
		child_idnum(14, id);
		cn_diag_clear(&d);
		assert_int_equal(
			cn_ledger_child_add(f->node[N_V1], "联络员", in, 4, NULL, 0, rec, &d),
			CN_ERR_STATE);
		assert_non_null(strstr(d.text, "sync"));
	}
	/* one exchange fetches them back */
	sync_ok(f, N_V1, N_T1);
	assert_false(cn_node_needs_head(f->node[N_V1]));
	assert_int_equal(count(f, N_V1, "SELECT count(*) FROM child"), 3);
	f->now += 1000;
	county_add_child(f, N_V1, V1, 14);
	hierarchy_round(f);
	hierarchy_round(f);
	assert_int_equal(count(f, N_COUNTY, "SELECT count(*) FROM child"), 4);
	assert_int_equal(quarantined(f, N_T1), 0);
	assert_int_equal(quarantined(f, N_COUNTY), 0);
	scopes_agree(f);
	verify_all(f);
}

/* A township restored from a backup uses its log positions again: its
 * villages notice the new log epoch and pull from the start, its villages'
 * later ops reach it again (a gap asks for them), and the hierarchy
 * converges with nothing lost, doubled or quarantined. */
static void test_sync_restored_township_converges(void **state)
{
	fixture *f = *state;
	char bak[128];

	county_add_child(f, N_V1, V1, 21);
	county_add_child(f, N_V2, V2, 22);
	hierarchy_round(f);
	snprintf(bak, sizeof(bak), "%s/t1.backup", f->dir);
	ok(cn_store_backup(cn_node_store(f->node[N_T1]), bak, &d_));
	f->now += 1000;
	county_add_child(f, N_V1, V1, 23);
	county_add_child(f, N_T1, V2, 24); /* the township's own work after the backup */
	county_add_child(f, N_COUNTY, V2, 25);
	hierarchy_round(f);
	restore_node(f, N_T1, bak);
	assert_int_equal(count(f, N_T1, "SELECT count(*) FROM child"), 2);
	/* the township itself fetches its own later op before it writes */
	assert_true(cn_node_needs_head(f->node[N_T1]));
	f->now += 1000;
	county_add_child(f, N_V2, V2, 26);
	hierarchy_round(f);
	hierarchy_round(f);
	assert_false(cn_node_needs_head(f->node[N_T1]));
	assert_int_equal(count(f, N_T1, "SELECT count(*) FROM child"), 6);
	assert_int_equal(count(f, N_V2, "SELECT count(*) FROM child"), 4);
	assert_int_equal(count(f, N_COUNTY, "SELECT count(*) FROM child"), 6);
	for (int i = 0; i < N_NODES; i++)
		if (i != N_STRAY && i != N_POLICE)
			assert_int_equal(quarantined(f, i), 0);
	scopes_agree(f);
	verify_all(f);
}

/* One exchange over a link that carries only the first `trips` round
 * trips (a 2G link dropping right after it connects). */
static cn_err sync_cut(fixture *f, int child, int parent, size_t batch, int trips,
		       cn_sync_stats *st)
{
	link l;
	char name[32];
	cn_diag d = {{0}};

	link_init(f, &l, child, parent);
	l.fail_after = trips;
	snprintf(name, sizeof(name), "node%d", parent);
	return cn_sync_run(f->node[child], name, serve_rt, &l, batch, st, &d);
}

/* A visit filed as urgent, by node i about the child of this order. */
static void urgent_visit(fixture *f, int i, int order, const char *findings)
{
	uint8_t rec[16];
	char id[19];
	cn_input v[] = {{"date", "2026-06-15"},
			{"visitor", "联络员"},
			{"visit_type", "party_cadre"},
			{"findings", findings}};

	child_idnum(order, id);
	ok(cn_ledger_find_child(f->node[i], id, rec, &d_));
	cn_node_set_op_flags(f->node[i], CN_OP_FLAG_URGENT);
	ok(cn_ledger_event_add(f->node[i], "联络员", "visit", rec, v, 4, NULL, &d_));
	cn_node_set_op_flags(f->node[i], 0);
}

/* Issue #4 (R5): an urgent op travels ahead of any backlog, up and down.
 * Over a link that drops after one round trip, a village's urgent visit
 * reaches its township, and the township's reaches the county, while 40
 * routine files wait; the county's urgent op reaches the township the same
 * way. Afterwards everything converges, every urgent op sits in its chain
 * (the history table is empty), and nothing is doubled or refused. */
static void test_sync_urgent_travels_first(void **state)
{
	fixture *f = *state;
	cn_sync_stats st;
	char sql[160];

	hierarchy_round(f); /* joined and synced once: certificates known */
	for (int k = 0; k < 40; k++)
		county_add_child(f, N_V1, V1, 200 + k);
	f->now += 1000;
	urgent_visit(f, N_V1, 239, "发现儿童独自在家且受伤，已报告 / found alone and hurt");
	/* up: one round trip, then the link drops */
	assert_int_equal(sync_cut(f, N_V1, N_T1, 2048, 1, &st), CN_ERR_IO);
	assert_int_equal(st.urgent, 1);
	assert_int_equal(count(f, N_T1, "SELECT count(*) FROM visit"), 1);
	assert_int_equal(count(f, N_T1, "SELECT count(*) FROM child"), 0); /* backlog waits */
	assert_true(cn_node_take_urgent(f->node[N_T1]));                   /* relay at once */
	assert_false(cn_node_take_urgent(f->node[N_T1]));
	assert_int_equal(sync_cut(f, N_T1, N_COUNTY, 2048, 1, &st), CN_ERR_IO);
	assert_int_equal(count(f, N_COUNTY, "SELECT count(*) FROM visit"), 1);
	/* down: the county's urgent op comes first to the township */
	f->now += 1000;
	for (int k = 0; k < 20; k++)
		county_add_child(f, N_COUNTY, V2, 300 + k);
	urgent_visit(f, N_COUNTY, 319, "县民政局紧急跟进 / county follow-up");
	assert_int_equal(sync_cut(f, N_T1, N_COUNTY, 2048, 2, &st), CN_ERR_IO);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM visit WHERE findings LIKE '县民政局%%'");
	assert_int_equal(count(f, N_T1, sql), 1);
	assert_true(count(f, N_T1, "SELECT count(*) FROM child") < 20);
	/* then the backlog, and the urgent ops join their chains */
	hierarchy_round(f);
	hierarchy_round(f);
	assert_int_equal(count(f, N_COUNTY, "SELECT count(*) FROM child"), 60);
	assert_int_equal(count(f, N_COUNTY, "SELECT count(*) FROM visit"), 2);
	for (int i = 0; i < N_NODES; i++) {
		if (i == N_STRAY || i == N_POLICE)
			continue;
		assert_int_equal(count(f, i, "SELECT count(*) FROM history"), 0);
		assert_int_equal(quarantined(f, i), 0);
	}
	assert_int_equal(count(f, N_COUNTY, "SELECT count(*) FROM ops WHERE urgent = 1"), 2);
	scopes_agree(f);
	verify_all(f);
}

/* Issue #4 (R5): a county department gets an urgent op it may read at the
 * front of its first pull, ahead of a backlog: a village's urgent filing
 * crosses village -> township -> county -> police with one round trip per
 * link while 40 routine files wait. */
static void test_sync_urgent_reaches_a_department_first(void **state)
{
	fixture *f = *state;
	cn_sync_stats st;

	hierarchy_round(f);
	sync_ok(f, N_POLICE, N_COUNTY); /* certificates known */
	for (int k = 0; k < 40; k++) {
		county_add_child(f, N_V1, V1, 400 + k);
		county_add_child(f, N_COUNTY, V2, 450 + k); /* a backlog at the county too */
	}
	f->now += 1000;
	cn_node_set_op_flags(f->node[N_V1], CN_OP_FLAG_URGENT);
	county_add_child(f, N_V1, V1, 499); /* a child found alone: filed urgent */
	cn_node_set_op_flags(f->node[N_V1], 0);
	assert_int_equal(sync_cut(f, N_V1, N_T1, 2048, 1, &st), CN_ERR_IO);
	assert_int_equal(sync_cut(f, N_T1, N_COUNTY, 2048, 1, &st), CN_ERR_IO);
	assert_int_equal(
		count(f, N_COUNTY, "SELECT count(*) FROM child WHERE village_code = '" V1 "'"),
		count(f, N_POLICE, "SELECT count(*) FROM child WHERE village_code = '" V1 "'") + 1);
	/* the police's first pull: the urgent file at the front */
	assert_int_equal(sync_cut(f, N_POLICE, N_COUNTY, 2048, 1, &st), CN_ERR_IO);
	assert_true(st.urgent >= 1);
	assert_int_equal(
		count(f, N_POLICE, "SELECT count(*) FROM child WHERE village_code = '" V1 "'"),
		count(f, N_COUNTY, "SELECT count(*) FROM child WHERE village_code = '" V1 "'"));
	assert_true(count(f, N_POLICE, "SELECT count(*) FROM child") < 40);
	/* then everything, once */
	hierarchy_round(f);
	hierarchy_round(f);
	sync_ok(f, N_POLICE, N_COUNTY);
	assert_int_equal(
		count(f, N_POLICE, "SELECT count(*) FROM child WHERE village_code = '" V1 "'"),
		count(f, N_V1, "SELECT count(*) FROM child"));
	assert_int_equal(count(f, N_POLICE, "SELECT count(*) FROM history"), 0);
	assert_int_equal(quarantined(f, N_POLICE), 0);
	verify_all(f);
}

/* R5.3: a school's mandatory report reaches the county police first, over
 * links that drop after one round trip, while a backlog waits. */
static void test_sync_report_reaches_police_first(void **state)
{
	fixture *f = *state;
	cn_sync_stats st;
	uint8_t rec[16];
	char id[19];
	cn_input r[] = {{"reporter_type", "school"},
			{"reporter", "洼张小学 王老师"},
			{"situation", "domestic_violence"},
			{"found_date", "2026-06-15"},
			{"date", "2026-06-15"},
			{"details", "儿童身上多处淤青，称被继父殴打"}};

	county_add_child(f, N_V1, V1, 600);
	hierarchy_round(f);
	sync_ok(f, N_POLICE, N_COUNTY);
	for (int k = 0; k < 40; k++) {
		county_add_child(f, N_V1, V1, 610 + k);
		county_add_child(f, N_COUNTY, V2, 660 + k);
	}
	f->now += 1000;
	child_idnum(600, id);
	ok(cn_ledger_find_child(f->node[N_V1], id, rec, &d_));
	cn_node_set_op_flags(f->node[N_V1], CN_OP_FLAG_URGENT); /* as `carenode report` does */
	ok(cn_ledger_event_add(f->node[N_V1], "王老师", "report", rec, r, 6, NULL, &d_));
	cn_node_set_op_flags(f->node[N_V1], 0);
	assert_int_equal(sync_cut(f, N_V1, N_T1, 2048, 1, &st), CN_ERR_IO);
	assert_int_equal(sync_cut(f, N_T1, N_COUNTY, 2048, 1, &st), CN_ERR_IO);
	assert_int_equal(count(f, N_COUNTY, "SELECT count(*) FROM report"), 1);
	assert_int_equal(sync_cut(f, N_POLICE, N_COUNTY, 2048, 1, &st), CN_ERR_IO);
	assert_int_equal(count(f, N_POLICE, "SELECT count(*) FROM report"), 1);
	assert_true(count(f, N_POLICE, "SELECT count(*) FROM child") < 40);
	/* then everything: the report is held once */
	hierarchy_round(f);
	hierarchy_round(f);
	sync_ok(f, N_POLICE, N_COUNTY);
	assert_int_equal(count(f, N_POLICE, "SELECT count(*) FROM report"), 1);
	assert_int_equal(count(f, N_POLICE, "SELECT count(*) FROM history"), 0);
	assert_int_equal(count(f, N_V2, "SELECT count(*) FROM report"), 0); /* not its child */
	assert_int_equal(quarantined(f, N_POLICE), 0);
	verify_all(f);
}

/* Found in review: an op whose hash a withheld range keeps (the range's
 * last op) was taken for one held, so a moved child's filing never reached
 * its new village. */
static void test_sync_moved_history_behind_a_range(void **state)
{
	fixture *f = *state;
	uint8_t rec[16];
	char id[19], hex[33], sql[256];

	hierarchy_round(f);
	county_add_child(f, N_T1, V1, 41); /* T1 files X at V1 */
	county_add_child(f, N_T1, V2, 42); /* then Y at V2: V2's range ends at X's filing */
	hierarchy_round(f);
	child_idnum(41, id);
	ok(cn_ledger_find_child(f->node[N_T1], id, rec, &d_));
	cn_hex(rec, 16, hex);
	f->now += 1000;
	ok(cn_ledger_child_move(f->node[N_T1], "专干", rec, V2, &d_));
	hierarchy_round(f);
	hierarchy_round(f);
	snprintf(sql, sizeof(sql),
		 "SELECT count(*) FROM child WHERE id = x'%s' AND name IS NOT NULL", hex);
	assert_int_equal(count(f, N_T1, sql), 1);
	assert_int_equal(count(f, N_V2, sql), 1);
	scopes_agree(f);
	verify_all(f);
}

/* Found in review: a child that moves away and back gets its whole file
 * again, although its old village kept the forgotten ops' hashes. */
static void test_sync_child_moves_away_and_back(void **state)
{
	fixture *f = *state;
	uint8_t rec[16];
	char id[19], hex[33], sql[256];

	county_add_child(f, N_V1, V1, 43);
	hierarchy_round(f);
	child_idnum(43, id);
	ok(cn_ledger_find_child(f->node[N_V1], id, rec, &d_));
	cn_hex(rec, 16, hex);
	f->now += 1000;
	ok(cn_ledger_child_move(f->node[N_T1], "专干", rec, V2, &d_));
	hierarchy_round(f);
	hierarchy_round(f);
	snprintf(sql, sizeof(sql),
		 "SELECT count(*) FROM child WHERE id = x'%s' AND name IS NOT NULL", hex);
	assert_int_equal(count(f, N_V1, sql), 0);
	assert_int_equal(count(f, N_V2, sql), 1);
	f->now += 1000;
	ok(cn_ledger_child_move(f->node[N_T1], "专干", rec, V1, &d_));
	hierarchy_round(f);
	hierarchy_round(f);
	scopes_agree(f);
	verify_all(f);
	assert_int_equal(count(f, N_V1, sql), 1);
	assert_int_equal(count(f, N_V2, sql), 0);
}

/* Found in review: urgent items at the front of a small batch must not
 * stop the log walk when its first op (here a move with its history) is
 * larger than what is left: the pull would fail on every exchange. */
static void test_sync_urgent_front_never_stalls_the_walk(void **state)
{
	fixture *f = *state;
	cn_sync_stats st;
	cn_diag d = {{0}};
	uint8_t rec[16];
	char id[19];
	cn_input v[] = {{"date", "2026-06-10"},
			{"visitor", "联络员"},
			{"visit_type", "party_cadre"},
			{"findings", "家中一切正常"}};

	county_add_child(f, N_V1, V1, 51);
	child_idnum(51, id);
	ok(cn_ledger_find_child(f->node[N_V1], id, rec, &d_));
	for (int k = 0; k < 30; k++)
		ok(cn_ledger_event_add(f->node[N_V1], "联络员", "visit", rec, v, 4, NULL, &d_));
	hierarchy_round(f);
	f->now += 1000;
	ok(cn_ledger_child_move(f->node[N_COUNTY], "民政局", rec, V3, &d_));
	urgent_visit(f, N_COUNTY, 51, "迁入后紧急走访 / urgent visit after the move");
	for (int k = 0; k < 3; k++) {
		cn_diag_clear(&d);
		if (sync_once(f, N_T2, N_COUNTY, 8192, &st, &d))
			fail_msg("exchange %d: %s", k, d.text);
	}
	hierarchy_round(f);
	scopes_agree(f);
	verify_all(f);
}

/* Only urgent ops may jump their chain: a PUSH that sends a routine op
 * ahead of it is refused whole, and nothing of it is applied. */
static void test_sync_only_urgent_ops_jump_the_chain(void **state)
{
	fixture *f = *state;
	sqlite3_stmt *st = NULL;
	cn_sync_item it = {0};
	cn_sync_msg req = {.type = CN_SYNC_PUSH, .items = &it, .n_items = 1}, resp;
	uint8_t *bytes = NULL, *out = NULL;
	size_t len, out_len;
	link l;
	cn_diag d = {{0}};

	county_add_child(f, N_V1, V1, 61);
	assert_int_equal(sqlite3_prepare_v2(cn_store_db(cn_node_store(f->node[N_V1])),
					    "SELECT bytes FROM ops ORDER BY pos DESC LIMIT 1", -1,
					    &st, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	it.op = sqlite3_column_blob(st, 0);
	it.op_len = (size_t)sqlite3_column_bytes(st, 0);
	it.history = true;
	ok(cn_syncmsg_encode(&req, &bytes, &len));
	sqlite3_finalize(st);
	link_init(f, &l, N_V1, N_T1);
	ok(cn_sync_serve(f->node[N_T1], "node1", &l.rights, bytes, len, &out, &out_len, &d_));
	ok(cn_syncmsg_decode(out, out_len, &resp, &d_));
	assert_int_equal(resp.type, CN_SYNC_ERROR);
	assert_non_null(strstr(resp.text, "only urgent ops"));
	assert_int_equal(count(f, N_T1, "SELECT count(*) FROM child"), 0);
	assert_int_equal(count(f, N_T1, "SELECT count(*) FROM history"), 0);
	cn_syncmsg_fini(&resp);
	free(bytes);
	free(out);
	(void)d;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, county_setup, county_teardown)
		T(test_sync_hierarchy_converges),
		T(test_sync_idle_is_one_small_round_trip),
		T(test_sync_no_echo),
		T(test_sync_cut_link_resumes),
		T(test_sync_concurrent_guardian_edits),
		T(test_sync_child_moves_within_township),
		T(test_sync_child_moves_between_townships),
		T(test_sync_restored_village_fetches_its_head),
		T(test_sync_restored_township_converges),
		T(test_sync_urgent_travels_first),
		T(test_sync_urgent_reaches_a_department_first),
		T(test_sync_report_reaches_police_first),
		T(test_sync_moved_history_behind_a_range),
		T(test_sync_child_moves_away_and_back),
		T(test_sync_urgent_front_never_stalls_the_walk),
		T(test_sync_only_urgent_ops_jump_the_chain),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * bench_store.c - figures for issue #2's benchmark, printed, never asserted:
 * signed local writes per second in a bulk import of 10,000 children (the
 * real carenode binary, one core), its peak RSS; verify and rebuild
 * throughput over 100,000 ops against the Ed25519 verification bound
 * measured on this machine; database bytes per child.
 *
 * Besides its sentences it prints one machine-readable line per figure,
 * "FIGURE name value unit stat", which tests/bench/run.sh collects.
 *
 * Usage: bench_store PATH/TO/carenode [children] [ops]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "carenode/ledger.h"
#include "carenode/ledger_io.h"
#include "carenode/synth.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, cn_err err, const cn_diag *d)
{
	fprintf(stderr, "bench: %s: %s %s\n", what, cn_strerror(err), d ? d->text : "");
	exit(1);
}

/* Runs argv, returns wall seconds; *rss_kb gets the child's peak RSS. */
static double run(char *const argv[], long *rss_kb)
{
	struct rusage ru;
	double t0 = now_s();
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		execv(argv[0], argv);
		_exit(127);
	}
	if (wait4(pid, &status, 0, &ru) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "bench: %s failed\n", argv[0]);
		exit(1);
	}
	*rss_kb = ru.ru_maxrss;
	return now_s() - t0;
}

/* One machine-readable figure for tests/bench/run.sh: name, value with
 * `decimals` places, unit (no spaces), then how it was taken. */
static void figure(const char *name, int decimals, double value, const char *unit, const char *stat)
{
	printf("FIGURE %s %.*f %s %s\n", name, decimals, value, unit, stat);
}

static double median3(double v[3])
{
	double a = v[0], b = v[1], c = v[2];

	if ((a <= b && b <= c) || (c <= b && b <= a))
		return b;
	if ((b <= a && a <= c) || (c <= a && a <= b))
		return a;
	return c;
}

/* Ed25519 verification alone over the log's own ops (their real sizes),
 * timing only crypto_sign_verify_detached: the bound for verify. */
static double log_verify_rate(const char *db)
{
	sqlite3 *h;
	sqlite3_stmt *st;
	double spent = 0;
	size_t n = 0;

	sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL);
	sqlite3_prepare_v2(h, "SELECT bytes FROM ops", -1, &st, NULL);
	while (sqlite3_step(st) == SQLITE_ROW) {
		const uint8_t *b = sqlite3_column_blob(st, 0);
		size_t len = (size_t)sqlite3_column_bytes(st, 0), body = len - 64;
		double t0 = now_s();
		/* the origin key is body bytes 4..36 (fixarray 8, uint 1, bin8 32) */
		if (crypto_sign_verify_detached(b + body, b, body, b + 4) != 0)
			exit(1);
		spent += now_s() - t0;
		n++;
	}
	sqlite3_finalize(st);
	sqlite3_close(h);
	return n / spent;
}

static double ed25519_verify_rate(void)
{
	unsigned char pk[32], sk[64], sig[64], msg[400];
	double t0;
	int n = 20000;

	crypto_sign_keypair(pk, sk);
	randombytes_buf(msg, sizeof(msg));
	crypto_sign_detached(sig, NULL, msg, sizeof(msg), sk);
	t0 = now_s();
	for (int i = 0; i < n; i++)
		if (crypto_sign_verify_detached(sig, msg, sizeof(msg), pk) != 0)
			exit(1);
	return n / (now_s() - t0);
}

int main(int argc, char **argv)
{
	const char *bin = argc > 1 ? argv[1] : "build/carenode";
	size_t children = argc > 2 ? strtoul(argv[2], NULL, 10) : 10000;
	size_t target_ops = argc > 3 ? strtoul(argv[3], NULL, 10) : 100000;
	char dir[64] = "/tmp/carenode-bench.", node_dir[256], csv[256], db[512];
	const char *village = "370522101201";
	cn_node *n = NULL;
	cn_diag d = {{0}};
	long rss_import, rss_verify;
	uint64_t ops;
	double t, bound;
	struct stat st;
	FILE *f;
	cn_err err;

	setvbuf(stdout, NULL, _IOLBF, 0);  /* shown as it comes, through a pipe too */
	memset(dir + strlen(dir), 'X', 6); /* the mkdtemp template */
	if (sodium_init() < 0 || !mkdtemp(dir))
		return 1;
	snprintf(node_dir, sizeof(node_dir), "%s/village", dir);
	snprintf(csv, sizeof(csv), "%s/ledger.csv", dir);
	snprintf(db, sizeof(db), "%s/carenode.db", node_dir);
	printf("carenode store benchmark (one core; figures, not assertions)\n");

	bound = ed25519_verify_rate();
	printf("  Ed25519 verify alone (libsodium, this machine): %.0f /s\n", bound);
	figure("ed25519_verify_ops_s", 0, bound, "ops/s", "1 run, 400-byte message");

	if ((err = cn_node_init(node_dir, CN_LEVEL_VILLAGE, village, NULL, &d)))
		die("init", err, &d);
	f = fopen(csv, "w");
	if (!f ||
	    (err = cn_synth_ledger(f, village, children, 42, (uint64_t)time(NULL) * 1000, &d)))
		die("synth", err, &d);
	fclose(f);

	{
		char *args[] = {(char *)bin, "--dir", node_dir, "import", csv, NULL};
		t = run(args, &rss_import);
	}
	printf("  bulk import, %zu children, 1 signed op each: %.2f s, %.0f ops/s, peak RSS %.1f "
	       "MB\n",
	       children, t, children / t, rss_import / 1024.0);
	figure("ingest_import_ops_s", 0, children / t, "ops/s", "1 run");
	figure("rss_import_mb", 1, rss_import / 1024.0, "MB", "1 run");
	{
		sqlite3 *h;
		sqlite3_open(db, &h);
		sqlite3_exec(h, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL);
		sqlite3_close(h);
		stat(db, &st);
		printf("  database after the import: %.1f MB = %.0f bytes per child (file, "
		       "guardian, "
		       "log, change index, indexes)\n",
		       st.st_size / 1048576.0, (double)st.st_size / children);
		figure("db_bytes_per_child_import", 0, (double)st.st_size / children, "B", "1 run");
	}

	/* grow the log to target_ops with the day-to-day work
	 * (tests/bench/bench_fill.c, beside this program) */
	{
		char fill[512], target[32];
		const char *slash = strrchr(argv[0], '/');
		long rss;
		snprintf(fill, sizeof(fill), "%.*s/bench_fill", slash ? (int)(slash - argv[0]) : 1,
			 slash ? argv[0] : ".");
		snprintf(target, sizeof(target), "%zu", target_ops);
		char *args[] = {fill, node_dir, target, NULL};
		t = run(args, &rss);
		if ((err = cn_node_open(node_dir, true, NULL, &n, &d)) ||
		    (err = cn_store_op_count(cn_node_store(n), &ops, &d)))
			die("count", err, &d);
		cn_node_close(n);
		printf("  day-to-day ops in one transaction: %.0f ops/s\n", (ops - children) / t);
		figure("ingest_fill_ops_s", 0, (ops - children) / t, "ops/s", "1 run");
	}

	{
		/* the machine is shared and noisy: alternate the bound and verify
		 * three times each and quote medians */
		char *args[] = {(char *)bin, "--dir", node_dir, "verify", NULL};
		double tv[3], tb[3];
		for (int i = 0; i < 3; i++) {
			tb[i] = log_verify_rate(db);
			tv[i] = run(args, &rss_verify);
		}
		t = median3(tv);
		bound = median3(tb);
		printf("  verify %llu ops (signatures, chains, model, fresh projection compared), "
		       "median "
		       "of 3: %.2f s, %.0f ops/s = %.2fx the bound (Ed25519 alone over these ops, "
		       "median %.0f /s), peak "
		       "RSS "
		       "%.1f MB\n",
		       (unsigned long long)ops, t, ops / t, bound / (ops / t), bound,
		       rss_verify / 1024.0);
		figure("verify_ops_s", 0, ops / t, "ops/s", "median of 3");
		figure("verify_bound_ratio", 2, bound / (ops / t), "x", "median of 3");
		figure("rss_verify_mb", 1, rss_verify / 1024.0, "MB", "last of 3");
	}
	{
		char *args[] = {(char *)bin, "--dir", node_dir, "rebuild", NULL};
		long rss;
		t = run(args, &rss);
		printf("  rebuild %llu ops: %.2f s, %.0f ops/s, peak RSS %.1f MB\n",
		       (unsigned long long)ops, t, ops / t, rss / 1024.0);
		figure("rebuild_ops_s", 0, ops / t, "ops/s", "1 run");
		figure("rss_rebuild_mb", 1, rss / 1024.0, "MB", "1 run");
	}
	{
		sqlite3 *h;
		sqlite3_open(db, &h);
		sqlite3_exec(h, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL);
		sqlite3_close(h);
		stat(db, &st);
		printf("  database: %.1f MB for %zu children and %llu ops = %.0f bytes per child, "
		       "%.0f per op\n",
		       st.st_size / 1048576.0, children, (unsigned long long)ops,
		       (double)st.st_size / children, (double)st.st_size / ops);
		figure("db_bytes_per_op", 0, (double)st.st_size / ops, "B/op", "1 run");
	}
	printf("  (data left in %s)\n", dir);
	return 0;
}

/*
 * test_pack.c - sync messages packed for the sealed channel (pack.h,
 * issue #4: compact on the wire): what shrinks is compressed, what does not
 * goes as it is, and an unpacker refuses whatever could hurt it (a frame
 * that unpacks to more than the limit, an unknown packing, damaged or
 * trailing bytes).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "carenode/pack.h"
#include "carenode/syncmsg.h"

/* Something like a batch: Chinese text and field names repeated, with
 * random bytes (signatures, hashes) between them. */
static uint8_t *batch_like(size_t n, uint32_t seed)
{
	static const char text[] = "王小明 利津县北宋镇洼张村 户籍地址 监护人 祖母 父亲外出务工 ";
	uint8_t *b = malloc(n);
	uint8_t key[randombytes_SEEDBYTES] = {0};

	assert_non_null(b);
	memcpy(key, &seed, sizeof(seed));
	for (size_t i = 0; i < n; i += 200) {
		size_t k = n - i < 200 ? n - i : 200;
		memcpy(b + i, text, k < sizeof(text) - 1 ? k : sizeof(text) - 1);
		if (k > sizeof(text) - 1)
			randombytes_buf_deterministic(b + i + sizeof(text) - 1,
						      k - (sizeof(text) - 1), key);
		key[4]++;
	}
	return b;
}

static void round_trip(const uint8_t *msg, size_t len, int want_packing)
{
	uint8_t *p = NULL, *u = NULL;
	size_t plen, ulen;
	cn_diag d = {{0}};

	assert_int_equal(cn_pack(msg, len, &p, &plen), CN_OK);
	assert_int_equal(p[0], want_packing);
	assert_int_equal(cn_unpack(p, plen, CN_SYNC_MAX_MSG, &u, &ulen, &d), CN_OK);
	assert_int_equal(ulen, len);
	assert_memory_equal(u, msg, len);
	free(p);
	free(u);
}

static void test_pack_small_goes_as_it_is(void **state)
{
	const uint8_t idle[] = {0x96, 0x01, 0xa4, 'p', 'u', 'l', 'l', 0, 0, 0, 0};
	(void)state;
	round_trip(idle, sizeof(idle), CN_PACK_RAW);
	round_trip(idle, 0, CN_PACK_RAW);
}

static void test_pack_batch_shrinks(void **state)
{
	uint8_t *b = batch_like(256 << 10, 7), *p = NULL;
	size_t plen;
	(void)state;

	round_trip(b, 256 << 10, CN_PACK_ZSTD);
	assert_int_equal(cn_pack(b, 256 << 10, &p, &plen), CN_OK);
	assert_true(plen < (256u << 10) * 3 / 4); /* it pays */
	free(p);
	free(b);
}

static void test_pack_random_goes_as_it_is(void **state)
{
	uint8_t r[4096];
	(void)state;
	randombytes_buf(r, sizeof(r));
	round_trip(r, sizeof(r), CN_PACK_RAW); /* nothing gained: as it is */
}

static void test_unpack_refuses(void **state)
{
	uint8_t *zeros = calloc(CN_SYNC_MAX_MSG + 1024, 1), *p = NULL, *u = NULL;
	uint8_t *b = batch_like(8192, 3);
	size_t plen, ulen;
	cn_diag d = {{0}};
	(void)state;

	assert_non_null(zeros);
	/* a few kilobytes that would unpack to more than the limit */
	assert_int_equal(cn_pack(zeros, CN_SYNC_MAX_MSG + 1024, &p, &plen), CN_OK);
	assert_true(plen < 4096);
	assert_int_equal(cn_unpack(p, plen, CN_SYNC_MAX_MSG, &u, &ulen, &d), CN_ERR_LIMIT);
	assert_null(u);
	assert_non_null(strstr(d.text, "unpack to"));
	free(p);
	/* raw over the limit too */
	zeros[0] = CN_PACK_RAW;
	cn_diag_clear(&d);
	assert_int_equal(cn_unpack(zeros, CN_SYNC_MAX_MSG + 2, CN_SYNC_MAX_MSG, &u, &ulen, &d),
			 CN_ERR_LIMIT);
	/* empty, unknown packing */
	cn_diag_clear(&d);
	assert_int_equal(cn_unpack(b, 0, CN_SYNC_MAX_MSG, &u, &ulen, &d), CN_ERR_TRUNCATED);
	{
		uint8_t two[] = {2, 0x90};
		cn_diag_clear(&d);
		assert_int_equal(cn_unpack(two, 2, CN_SYNC_MAX_MSG, &u, &ulen, &d), CN_ERR_FORMAT);
		assert_non_null(strstr(d.text, "unknown packing"));
	}
	/* a frame cut short, or with bytes after it */
	assert_int_equal(cn_pack(b, 8192, &p, &plen), CN_OK);
	assert_int_equal(p[0], CN_PACK_ZSTD);
	for (size_t cut = 1; cut < plen; cut += 97) {
		cn_diag_clear(&d);
		assert_int_not_equal(cn_unpack(p, cut, CN_SYNC_MAX_MSG, &u, &ulen, &d), CN_OK);
		assert_null(u);
	}
	{
		uint8_t *longer = malloc(plen + 1);
		assert_non_null(longer);
		memcpy(longer, p, plen);
		longer[plen] = 0;
		cn_diag_clear(&d);
		assert_int_equal(cn_unpack(longer, plen + 1, CN_SYNC_MAX_MSG, &u, &ulen, &d),
				 CN_ERR_FORMAT);
		free(longer);
	}
	free(p);
	free(b);
	free(zeros);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pack_small_goes_as_it_is),
		cmocka_unit_test(test_pack_batch_shrinks),
		cmocka_unit_test(test_pack_random_goes_as_it_is),
		cmocka_unit_test(test_unpack_refuses),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A minimal unit-test harness: KP_TEST(name) { ... CHECK(cond); } and
 * KP_TEST_MAIN() that runs every test in the file and closes with the line
 * "N passed, N failed" (exit 1 if any failed). A test is counted as failed if
 * any CHECK in it failed; each failing CHECK prints file:line and the expression.
 */
#ifndef KP_TESTS_TAP_H
#define KP_TESTS_TAP_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct kp_test {
	const char *name;
	void (*fn)(int *failed);
};

#define KP_MAX_TESTS 512
extern struct kp_test kp_tests[KP_MAX_TESTS];
extern int kp_ntests;

#define KP_TEST(n)                                                                                 \
	static void test_##n(int *kp_failed);                                                      \
	__attribute__((constructor)) static void reg_##n(void)                                     \
	{                                                                                          \
		if (kp_ntests < KP_MAX_TESTS)                                                      \
			kp_tests[kp_ntests++] = (struct kp_test){#n, test_##n};                    \
	}                                                                                          \
	static void test_##n(int *kp_failed)

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "  %s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); \
			(*kp_failed)++;                                                            \
		}                                                                                  \
	} while (0)

#define CHECK_EQ(a, b)                                                                             \
	do {                                                                                       \
		long long _a = (long long)(a), _b = (long long)(b);                                \
		if (_a != _b) {                                                                    \
			fprintf(stderr, "  %s:%d: %s == %s failed: %lld != %lld\n", __FILE__,      \
				__LINE__, #a, #b, _a, _b);                                         \
			(*kp_failed)++;                                                            \
		}                                                                                  \
	} while (0)

#define CHECK_STR(a, b)                                                                            \
	do {                                                                                       \
		const char *_a = (a), *_b = (b);                                                   \
		if (!_a || !_b || strcmp(_a, _b) != 0) {                                           \
			fprintf(stderr, "  %s:%d: %s == \"%s\" failed: got \"%s\"\n", __FILE__,    \
				__LINE__, #a, _b ? _b : "(null)", _a ? _a : "(null)");             \
			(*kp_failed)++;                                                            \
		}                                                                                  \
	} while (0)

#define KP_TEST_MAIN()                                                                             \
	struct kp_test kp_tests[KP_MAX_TESTS];                                                     \
	int kp_ntests;                                                                             \
	int main(int argc, char **argv)                                                            \
	{                                                                                          \
		int pass = 0, fail = 0;                                                            \
		for (int i = 0; i < kp_ntests; i++) {                                              \
			int f = 0;                                                                 \
			if (argc > 1 && !strstr(kp_tests[i].name, argv[1]))                        \
				continue;                                                          \
			kp_tests[i].fn(&f);                                                        \
			printf("%s %s\n", f ? "FAIL" : "ok  ", kp_tests[i].name);                  \
			if (f)                                                                     \
				fail++;                                                            \
			else                                                                       \
				pass++;                                                            \
		}                                                                                  \
		printf("%d passed, %d failed\n", pass, fail);                                      \
		return fail ? 1 : 0;                                                               \
	}

#endif

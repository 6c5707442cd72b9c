/*
 * check_cxx.cc - the C++ operators (DESIGN.md promise 2): plain, nothrow,
 * sized (with a wrong size, which must not corrupt the heap), aligned,
 * arrays, std::bad_alloc and the new_handler, all served by HAKMEM.
 */
#include <cstddef>
#include <map>
#include <new>
#include <string>
#include <vector>

#include "itest.h"

/* HAKMEM owns @p: hak_malloc_usable_size() reports (aborts) on anyone else's pointer. */
static void assert_ours(const void *p, size_t n)
{
	size_t u = hak.usable_size(const_cast<void *>(p));

	itest_check(u >= n, "%p (%zu B) is not a HAKMEM block (usable %zu)", p, n, u);
}

START_TEST(plain_new_delete)
{
	int *i = new int(42);
	std::string *s = new std::string(1000, 'x');
	char *a = new char[70000];

	assert_ours(i, sizeof(int));
	assert_ours(s, sizeof(*s));
	assert_ours(s->data(), 1000);
	assert_ours(a, 70000);
	ck_assert_int_eq(*i, 42);
	ck_assert_uint_eq((uintptr_t)i % 16, 0);
	ck_assert_uint_eq((uintptr_t)a % 16, 0);
	memset(a, 1, 70000);
	ck_assert_uint_eq(s->size(), 1000);
	delete i;
	delete s;
	delete[] a;
}
END_TEST

START_TEST(nothrow_new)
{
	size_t huge = itest_opaque(SIZE_MAX / 2);
	char *p = new (std::nothrow) char[100];
	void *q;

	ck_assert_ptr_nonnull(p);
	assert_ours(p, 100);
	delete[] p;
	p = new (std::nothrow) char[huge];
	ck_assert_ptr_null(p);
	q = ::operator new(huge, std::nothrow);
	ck_assert_ptr_null(q);
	q = ::operator new[](itest_opaque(SIZE_MAX), std::nothrow);
	ck_assert_ptr_null(q);
	q = ::operator new(huge, std::align_val_t(64), std::nothrow);
	ck_assert_ptr_null(q);
	q = ::operator new(24, std::nothrow);
	ck_assert_ptr_nonnull(q);
	assert_ours(q, 24);
	::operator delete(q, std::nothrow);
}
END_TEST

/*
 * Sized delete with a wrong size (across tiers, too small and too large):
 * the blocks still alive keep their contents and the heap stays sound.
 */
START_TEST(sized_delete_wrong_size)
{
	enum { N = 3000 };
	static void *p[N];
	static size_t n[N];
	static const size_t wrong[] = { 1, 16, 1024, 1025, 53248, 53249, 1 << 20, SIZE_MAX };
	static const size_t refill[] = { 1, 17, 1000, 1030, 53248, 53300, 70000 };

	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < N; i++) {
			n[i] = i % 11 == 0 ? 54000 + i * 3 : i % 5 == 0 ? 1030 + i * 5 : 1 + (i * 37) % 1024;
			p[i] = ::operator new(n[i]);
			itest_fill(p[i], n[i], (uintptr_t)p[i] ^ n[i]);
		}
		/* every other block, deleted with a wrong size */
		for (int i = round % 2; i < N; i += 2)
			::operator delete(p[i], wrong[(i + round) % 8]);
		/* new blocks take the freed places; fill them */
		for (int i = round % 2; i < N; i += 2) {
			n[i] = refill[(i + round) % 7];
			p[i] = ::operator new(n[i]);
			itest_fill(p[i], n[i], (uintptr_t)p[i] ^ n[i]);
		}
		for (int i = 0; i < N; i++) {
			size_t at = itest_verify(p[i], n[i], (uintptr_t)p[i] ^ n[i]);

			itest_check(at == SIZE_MAX, "round %d: block %d (%zu B) overwritten at %zu",
				    round, i, n[i], at);
		}
		for (int i = 0; i < N; i++)
			::operator delete(p[i], n[i] * 3 + 1);	/* wrong again */
		itest_self_check();
	}
}
END_TEST

/* A class whose compiler-generated delete passes sizeof: right sizes too. */
struct Node {
	Node *next;
	char payload[40];
};

START_TEST(sized_delete_class)
{
	Node *head = nullptr;

	for (int i = 0; i < 10000; i++) {
		Node *n = new Node;

		n->next = head;
		memset(n->payload, i & 0xff, sizeof(n->payload));
		head = n;
	}
	for (int i = 9999; head; i--) {
		Node *n = head;

		itest_check(itest_find_not(n->payload, sizeof(n->payload), (unsigned char)i) == SIZE_MAX,
			    "node %d overwritten", i);
		head = n->next;
		delete n;
	}
}
END_TEST

struct alignas(256) Wide {
	char b[300];
};

START_TEST(aligned_new)
{
	static const size_t sizes[] = { 1, 63, 64, 1000, 1025, 53249, 100000 };

	for (size_t a = 64; a <= 4096 * 16; a *= 2) {
		for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			void *p = ::operator new(sizes[i], std::align_val_t(a));
			void *q = ::operator new[](sizes[i], std::align_val_t(a));

			itest_check((uintptr_t)p % a == 0 && (uintptr_t)q % a == 0,
				    "new(%zu, align %zu) = %p, %p", sizes[i], a, p, q);
			assert_ours(p, sizes[i]);
			assert_ours(q, sizes[i]);
			memset(p, 0x5a, sizes[i]);
			memset(q, 0xa5, sizes[i]);
			itest_check(itest_find_not(p, sizes[i], 0x5a) == SIZE_MAX, "overlap");
			if (i % 2)
				::operator delete(p, std::align_val_t(a));
			else
				::operator delete(p, sizes[i], std::align_val_t(a));
			::operator delete[](q, std::align_val_t(a));
		}
	}
	Wide *w = new Wide[7];
	Wide *one = new Wide;

	ck_assert_uint_eq((uintptr_t)w % 256, 0);
	ck_assert_uint_eq((uintptr_t)one % 256, 0);
	memset(w, 1, sizeof(Wide) * 7);
	delete[] w;
	delete one;
}
END_TEST

static int ctors, dtors;

struct Counted {
	int v;
	Counted() : v(7) { ctors++; }
	~Counted() { dtors++; v = -1; }
};

START_TEST(array_new_delete)
{
	ctors = dtors = 0;
	for (int n = 1; n < 2000; n = n * 3 + 1) {
		Counted *c = new Counted[n];

		/* the Itanium ABI puts the element count in front of the array */
		assert_ours((char *)c - sizeof(size_t), sizeof(Counted) * n + sizeof(size_t));
		for (int i = 0; i < n; i++)
			itest_check(c[i].v == 7, "element %d", i);
		delete[] c;
	}
	ck_assert_int_eq(ctors, dtors);
	ck_assert_int_eq(ctors, 1 + 4 + 13 + 40 + 121 + 364 + 1093);
}
END_TEST

START_TEST(bad_alloc_thrown)
{
	volatile size_t huge = SIZE_MAX / 2;
	int thrown = 0;

	try {
		char *p = new char[huge];

		p[0] = 1;
		delete[] p;
	} catch (const std::bad_alloc &) {
		thrown++;
	}
	try {
		::operator delete(::operator new(SIZE_MAX));
	} catch (const std::bad_alloc &) {
		thrown++;
	}
	try {
		::operator delete(::operator new(huge, std::align_val_t(4096)), std::align_val_t(4096));
	} catch (const std::bad_alloc &) {
		thrown++;
	}
	ck_assert_int_eq(thrown, 3);
	/* and allocation still works afterwards */
	std::vector<int> v(1000, 3);
	ck_assert_int_eq(v[999], 3);
}
END_TEST

static int handler_calls;

static void give_up_handler()
{
	handler_calls++;
	std::set_new_handler(nullptr);	/* the next failure throws */
}

START_TEST(new_handler_runs)
{
	volatile size_t huge = SIZE_MAX / 4;
	bool thrown = false;

	handler_calls = 0;
	std::set_new_handler(give_up_handler);
	try {
		::operator delete(::operator new(huge));
	} catch (const std::bad_alloc &) {
		thrown = true;
	}
	ck_assert(thrown);
	ck_assert_int_eq(handler_calls, 1);
}
END_TEST

static void throwing_handler()
{
	handler_calls++;
	throw std::bad_alloc();
}

static void *reserve;

static void release_reserve_handler()
{
	handler_calls++;
	::operator delete(reserve);	/* memory for the retry */
	reserve = nullptr;
	std::set_new_handler(nullptr);
}

/*
 * The nothrow forms fail as the throwing forms do, new_handler included:
 * the handler runs; its std::bad_alloc turns into nullptr, it does not
 * leave the nothrow operator; a handler that returns gets a retry.
 */
START_TEST(nothrow_new_handler)
{
	volatile size_t huge = SIZE_MAX / 4;
	void *p = &handler_calls;

	handler_calls = 0;
	std::set_new_handler(throwing_handler);
	try {
		p = ::operator new(huge, std::nothrow);
		ck_assert_ptr_null(p);
		p = ::operator new[](huge, std::nothrow);
		ck_assert_ptr_null(p);
		p = ::operator new(huge, std::align_val_t(64), std::nothrow);
		ck_assert_ptr_null(p);
		p = ::operator new[](huge, std::align_val_t(64), std::nothrow);
		ck_assert_ptr_null(p);
	} catch (...) {
		ck_abort_msg("a nothrow operator new let the handler's exception out");
	}
	ck_assert_int_eq(handler_calls, 4);
	std::set_new_handler(nullptr);

	/* a handler that returns: the allocation is tried again (and fails again) */
	handler_calls = 0;
	reserve = ::operator new(1000);
	std::set_new_handler(release_reserve_handler);
	p = ::operator new(huge, std::nothrow);
	ck_assert_ptr_null(p);
	ck_assert_int_eq(handler_calls, 1);
	ck_assert_ptr_null(reserve);
}
END_TEST

START_TEST(containers)
{
	std::map<std::string, std::vector<int>> m;

	for (int i = 0; i < 20000; i++)
		m[std::to_string(i * 7919 % 20000)].push_back(i);
	ck_assert_uint_eq(m.size(), 20000);
	for (auto &kv : m) {
		itest_check(kv.second.size() == 1, "key %s", kv.first.c_str());
		itest_check(std::stoi(kv.first) == kv.second[0] * 7919 % 20000, "key %s", kv.first.c_str());
		assert_ours(kv.second.data(), sizeof(int));
	}
	std::string big;
	for (int i = 0; i < 100000; i++)
		big += static_cast<char>('a' + i % 26);
	assert_ours(big.data(), big.size());
	ck_assert_int_eq(big[99999], 'a' + 99999 % 26);
}
END_TEST

static Suite *cxx_suite(void)
{
	Suite *s = suite_create("cxx");
	TCase *tc = itest_tcase(s, "operators", 60);

	tcase_add_test(tc, plain_new_delete);
	tcase_add_test(tc, nothrow_new);
	tcase_add_test(tc, sized_delete_wrong_size);
	tcase_add_test(tc, sized_delete_class);
	tcase_add_test(tc, aligned_new);
	tcase_add_test(tc, array_new_delete);
	tcase_add_test(tc, bad_alloc_thrown);
	tcase_add_test(tc, new_handler_runs);
	tcase_add_test(tc, nothrow_new_handler);
	tcase_add_test(tc, containers);
	return s;
}

int main(void)
{
	return itest_run(cxx_suite());
}

/* ccgen.c: the customer and ticket data set of the benchmarks, and a load
 * client for customer.show on it.
 *
 *   ccgen generate: fill a migrated callcentre database with a realistic
 *     history: customers of three sites (GZ Guangzhou, SH Shanghai, CD
 *     Chengdu) with Chinese and English names and normalised contacts, their
 *     orders, tickets with hash-chained events, notes, compensations, CSAT
 *     ratings and follow-ups. For N customers: 5N orders, 2N tickets and
 *     about 10N events (the ratios of the 1M : 5M : 2M : 10M target).
 *   ccgen show: ask for the customer 360 view of a random sample of
 *     customers and report latency percentiles, either over TLS from a
 *     running callcentred (customer.show) or, with --direct, by calling the
 *     server's own store_customer_view() on a database connection: the
 *     database part of the same request.
 *
 * Determinism: one generator thread draws everything from one xoshiro256**
 * stream seeded by --seed and assigns every id itself (explicit in the
 * INSERTs), so the same options (--seed, --customers, --chunk, --end,
 * --years, --agents-per-site) on the same starting database give the same
 * rows byte for byte, however many loader connections run, however many
 * rows a statement holds and in whatever order the chunks commit. The one
 * exception is agents.password_hash of agents ccgen creates: a hash of a
 * random password, unless --agent-password-hash is given. (Distributions
 * go through libm's exp, log and pow: another C library may round them
 * differently.)
 *
 * Shape of the history: a ticket's events follow the rows of the server's
 * state table, 3 to 8 of them (only tickets still new, queued or offered
 * have fewer), about 5 on average; almost every ticket older than two
 * weeks is closed. Numbers that must be unique (phones, e-mail addresses,
 * member ids, order numbers, ticket refs) are keyed permutations of ids,
 * not random draws, so they never collide.
 *
 * Loading: the generator cuts the customers into chunks (1,000 by default);
 * a chunk's rows refer only to its own customers and to the sites, queues
 * and agents made before, so loader threads insert chunks concurrently,
 * each chunk in one transaction of multi-row INSERTs (1,000 rows a
 * statement), with every constraint and foreign key checked. A deadlock
 * retries the chunk.
 *
 * Everything links the server's code for what the server would compute:
 * contacts are stored as contact.h normalises them, event hashes are
 * audit_seal()'s, the stored RFM scores and value tiers are rfm_score()'s
 * at --end, and --direct runs store_customer_view().
 *
 * Results go to standard output as key=value lines; progress and errors to
 * standard error. Exit status 0 only when nothing failed. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <mysql.h>
#include <mysqld_error.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

#include "audit.h"
#include "auth.h"
#include "contact.h"
#include "db.h"
#include "rfm.h"
#include "store-customer.h"
#include "tls.h"

#define ORDERS_PER_CUSTOMER  5
#define TICKETS_PER_CUSTOMER 2
#define DAY_MS               86400000LL
#define HOUR_MS              3600000LL
#define MIN_MS               60000LL
#define LOCAL_OFFSET_MS      (8 * HOUR_MS) /* all three sites keep China time */
#define PATH_MAX_EVENTS      8
#define STMT_MAX_BYTES       (1024 * 1024)
#define CHUNK_RETRIES        5
#define PROGRESS_SECONDS     5.0
#define KEY_PHONE            0x6d6f62696c65ULL /* fixed keys: unique across seeds */
#define KEY_LANDLINE         0x6c616e646cULL
#define KEY_EMAIL            0x656d61696cULL
#define KEY_MEMBER           0x6d656d626572ULL
#define KEY_REF              0x726566ULL
#define KEY_ORDER            0x6f72646572ULL

/* ---- random numbers ---------------------------------------------------- */

/* splitmix64 (Steele, Lea and Flood, 2014): seeds the generator and mixes
 * keys. */
static uint64_t
mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t
splitmix64(uint64_t *state)
{
	return mix64(*state += 0x9e3779b97f4a7c15ULL);
}

/* xoshiro256** 1.0 (Blackman and Vigna, 2018). */
struct rng {
	uint64_t s[4];
};

static uint64_t
rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static uint64_t
rng_next(struct rng *r)
{
	uint64_t *s = r->s, result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

static void
rng_seed(struct rng *r, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&seed);
}

/* Uniform in [0, 1). */
static double
rng_unit(struct rng *r)
{
	return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

/* Uniform in [0, n), n > 0, without modulo bias. */
static uint64_t
rng_below(struct rng *r, uint64_t n)
{
	uint64_t limit = UINT64_MAX - UINT64_MAX % n, x;

	do
		x = rng_next(r);
	while (x >= limit);
	return x % n;
}

/* Uniform in [lo, hi]. */
static int64_t
rng_range(struct rng *r, int64_t lo, int64_t hi)
{
	return hi <= lo ? lo : lo + (int64_t)rng_below(r, (uint64_t)(hi - lo) + 1);
}

static int
rng_chance(struct rng *r, double p)
{
	return rng_unit(r) < p;
}

/* Exponential with the given mean. */
static double
rng_exp(struct rng *r, double mean)
{
	return -mean * log(1.0 - rng_unit(r));
}

/* Pareto with minimum 1 and shape alpha: the heavy tail of buyers. */
static double
rng_pareto(struct rng *r, double alpha)
{
	return pow(1.0 - rng_unit(r), -1.0 / alpha);
}

/* Log-normal with the given median and sigma (Box-Muller). */
static double
rng_lognormal(struct rng *r, double median, double sigma)
{
	double u = 1.0 - rng_unit(r), v = rng_unit(r);

	return median * exp(sigma * sqrt(-2.0 * log(u)) * cos(2.0 * M_PI * v));
}

/* An index into weights[0..n) drawn in proportion to the weights. */
static size_t
rng_weighted(struct rng *r, const double *weights, size_t n)
{
	double sum = 0, x;

	for (size_t i = 0; i < n; i++)
		sum += weights[i];
	x = rng_unit(r) * sum;
	for (size_t i = 0; i < n; i++) {
		if (x < weights[i])
			return i;
		x -= weights[i];
	}
	return n - 1;
}

#define PICK(r, array) ((array)[rng_below((r), sizeof(array) / sizeof((array)[0]))])
#define NELEM(array)   (sizeof(array) / sizeof((array)[0]))

/* A bijection of [0, domain) chosen by key: a four-round Feistel network on
 * the smallest even number of bits that holds domain, walked until the
 * value falls inside (cycle walking, Black and Rogaway 2002). Sequential ids
 * become unique numbers that look random: phone numbers, e-mail suffixes,
 * member ids, order numbers, ticket refs. */
static uint64_t
permute(uint64_t x, uint64_t domain, uint64_t key)
{
	int bits = 2, half;
	uint64_t mask;

	while (bits < 62 && (1ULL << bits) < domain)
		bits += 2;
	half = bits / 2;
	mask = (1ULL << half) - 1;
	do {
		uint64_t l = x >> half, r = x & mask;
		for (uint64_t round = 0; round < 4; round++) {
			uint64_t f = mix64(r ^ mix64(key + round)) & mask;
			uint64_t t = r;
			r = l ^ f;
			l = t;
		}
		x = (l << half) | r;
	} while (x >= domain);
	return x;
}

/* ---- text buffers and SQL ----------------------------------------------- */

struct sbuf {
	char *p;
	size_t len, cap;
};

static void
sb_reserve(struct sbuf *b, size_t n)
{
	if (b->len + n + 1 <= b->cap)
		return;
	while (b->len + n + 1 > b->cap)
		b->cap = b->cap ? b->cap * 2 : 4096;
	if ((b->p = realloc(b->p, b->cap)) == NULL)
		abort();
}

static void
sb_put(struct sbuf *b, const char *s, size_t n)
{
	sb_reserve(b, n);
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void
sb_puts(struct sbuf *b, const char *s)
{
	sb_put(b, s, strlen(s));
}

static void sb_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		abort();
	sb_reserve(b, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

/* A quoted SQL string literal. The escapes are those of
 * mysql_real_escape_string for utf8mb4 (no multi-byte sequence of UTF-8
 * contains an ASCII byte), and the loader sessions do not set
 * NO_BACKSLASH_ESCAPES. */
static void
sb_quote(struct sbuf *b, const char *s)
{
	sb_reserve(b, 2 * strlen(s) + 2);
	b->p[b->len++] = '\'';
	for (; *s; s++) {
		char c = *s, e = 0;
		switch (c) {
		case '\n':
			e = 'n';
			break;
		case '\r':
			e = 'r';
			break;
		case '\\':
			e = '\\';
			break;
		case '\'':
			e = '\'';
			break;
		case '"':
			e = '"';
			break;
		case '\032':
			e = 'Z';
			break;
		default:
			break;
		}
		if (e) {
			b->p[b->len++] = '\\';
			b->p[b->len++] = e;
		} else {
			b->p[b->len++] = c;
		}
	}
	b->p[b->len++] = '\'';
	b->p[b->len] = '\0';
}

/* A UTC time as DATETIME(3) text. */
static void
fmt_time(int64_t ms, char out[48])
{
	time_t sec = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&sec, &tm);
	snprintf(out, 48, "%04d-%02d-%02d %02d:%02d:%02d.%03d", tm.tm_year + 1900, tm.tm_mon + 1,
	         tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
}

/* The tables ccgen writes, in the order a chunk inserts them (parents
 * first). */
enum table {
	T_CUSTOMERS,
	T_CONTACTS,
	T_ORDERS,
	T_TICKETS,
	T_EVENTS,
	T_NOTES,
	T_COMPENSATIONS,
	T_CSAT,
	T_FOLLOWUPS,
	T__COUNT
};

static const struct {
	const char *name;
	const char *columns;
} tables[T__COUNT] = {
    [T_CUSTOMERS] = {"customers",
                     "id, name, site_id, region, language, value_tier, rfm_recency, "
                     "rfm_frequency, rfm_monetary, rfm_at, flagged_at, flag_reason, merged_into, "
                     "merged_at, merged_by, created_at, updated_at"},
    [T_CONTACTS] = {"customer_contacts", "id, customer_id, kind, value, is_primary, created_at"},
    [T_ORDERS] = {"orders", "id, external_id, customer_id, amount_minor, refunded_minor, "
                            "currency, status, ordered_at, updated_at"},
    [T_TICKETS] = {"tickets",
                   "id, ref, kind, channel, severity, priority, state, subject, language, "
                   "customer_id, order_id, site_id, queue_id, owner_agent_id, owning_site_id, "
                   "version, escalation_level, enqueued_at, first_response_due, "
                   "resolution_due, first_responded_at, resolved_at, closed_at, reopen_count, "
                   "resolution_code, resolution_summary, last_event_seq, last_event_hash, "
                   "created_at, updated_at"},
    [T_EVENTS] = {"ticket_events", "id, ticket_id, seq, actor_agent_id, actor, op, old_value, "
                                   "new_value, detail, created_at, prev_hash, hash"},
    [T_NOTES] = {"ticket_notes",
                 "id, ticket_id, author_kind, author_agent_id, visibility, body, created_at"},
    [T_COMPENSATIONS] = {"compensations",
                         "id, ticket_id, customer_id, order_id, kind, amount_minor, currency, "
                         "state, reason, requested_by, requested_at, approver_id, decided_at, "
                         "decision_note, issued_at, external_ref, version"},
    [T_CSAT] = {"csat", "id, ticket_id, round, score, comment, agent_id, created_at"},
    [T_FOLLOWUPS] = {"followups", "id, customer_id, ticket_id, purpose, due_at, assignee_agent_id, "
                                  "created_by, created_at, done_at, outcome, outcome_note"},
};

/* One table's rows of a chunk as multi-row INSERT statements: statement i
 * is sql.p[off[i] .. off[i + 1]). */
struct inserts {
	struct sbuf sql;
	size_t *off;
	size_t nstmt, cap;
	size_t rows;         /* rows in all statements */
	size_t open_rows;    /* rows in the statement being built */
	size_t open_at;      /* where it starts */
	int first_value;     /* no comma before the next value */
	size_t rows_per_max; /* rows a statement at most */
};

static void
ins_close(struct inserts *t)
{
	if (t->open_rows == 0)
		return;
	if (t->nstmt + 2 > t->cap) {
		t->cap = t->cap ? t->cap * 2 : 16;
		if ((t->off = realloc(t->off, t->cap * sizeof *t->off)) == NULL)
			abort();
	}
	if (t->nstmt == 0)
		t->off[0] = t->open_at;
	t->off[++t->nstmt] = t->sql.len;
	t->open_rows = 0;
}

static void
ins_row_begin(struct inserts *t, enum table which)
{
	if (t->open_rows == 0) {
		t->open_at = t->sql.len;
		sb_printf(&t->sql, "INSERT INTO %s (%s) VALUES (", tables[which].name,
		          tables[which].columns);
	} else {
		sb_put(&t->sql, ",(", 2);
	}
	t->first_value = 1;
}

static void
ins_row_end(struct inserts *t)
{
	sb_put(&t->sql, ")", 1);
	t->rows++;
	if (++t->open_rows >= t->rows_per_max || t->sql.len - t->open_at >= STMT_MAX_BYTES)
		ins_close(t);
}

static void
ins_sep(struct inserts *t)
{
	if (!t->first_value)
		sb_put(&t->sql, ",", 1);
	t->first_value = 0;
}

static void
v_null(struct inserts *t)
{
	ins_sep(t);
	sb_put(&t->sql, "NULL", 4);
}

static void
v_u64(struct inserts *t, uint64_t v)
{
	char buf[24];
	int n = snprintf(buf, sizeof buf, "%" PRIu64, v);

	ins_sep(t);
	sb_put(&t->sql, buf, (size_t)n);
}

/* An id, or NULL for 0 (no id is 0). */
static void
v_id(struct inserts *t, uint64_t v)
{
	if (v == 0)
		v_null(t);
	else
		v_u64(t, v);
}

static void
v_str(struct inserts *t, const char *s)
{
	ins_sep(t);
	if (s == NULL)
		sb_put(&t->sql, "NULL", 4);
	else
		sb_quote(&t->sql, s);
}

/* A time, or NULL for 0. */
static void
v_time(struct inserts *t, int64_t ms)
{
	char buf[48];

	if (ms == 0) {
		v_null(t);
		return;
	}
	fmt_time(ms, buf);
	ins_sep(t);
	sb_put(&t->sql, "'", 1);
	sb_puts(&t->sql, buf);
	sb_put(&t->sql, "'", 1);
}

static void
v_hash(struct inserts *t, const unsigned char h[AUDIT_HASH_LEN])
{
	static const char hex[] = "0123456789abcdef";
	char buf[2 * AUDIT_HASH_LEN + 3];

	buf[0] = 'X';
	buf[1] = '\'';
	for (int i = 0; i < AUDIT_HASH_LEN; i++) {
		buf[2 + 2 * i] = hex[h[i] >> 4];
		buf[3 + 2 * i] = hex[h[i] & 15];
	}
	ins_sep(t);
	sb_put(&t->sql, buf, 2 + 2 * AUDIT_HASH_LEN);
	sb_put(&t->sql, "'", 1);
}

static void
ins_free(struct inserts *t)
{
	free(t->sql.p);
	free(t->off);
}

/* ---- what the data is made of -------------------------------------------- */

/* Common Chinese surnames with their share of the population in percent
 * (after the 2020 census tables), and their pinyin for e-mail addresses. */
static const struct surname {
	const char *han, *pinyin;
	double share;
} surnames[] = {
    {"王", "wang", 7.12},     {"李", "li", 7.00},           {"张", "zhang", 6.74},
    {"刘", "liu", 5.38},      {"陈", "chen", 4.53},         {"杨", "yang", 3.08},
    {"黄", "huang", 2.23},    {"赵", "zhao", 2.29},         {"吴", "wu", 2.05},
    {"周", "zhou", 1.98},     {"徐", "xu", 1.45},           {"孙", "sun", 1.38},
    {"马", "ma", 1.29},       {"朱", "zhu", 1.26},          {"胡", "hu", 1.16},
    {"郭", "guo", 1.15},      {"何", "he", 1.04},           {"高", "gao", 1.00},
    {"林", "lin", 0.97},      {"罗", "luo", 0.86},          {"郑", "zheng", 0.81},
    {"梁", "liang", 0.79},    {"谢", "xie", 0.74},          {"宋", "song", 0.66},
    {"唐", "tang", 0.64},     {"许", "xu", 0.63},           {"韩", "han", 0.61},
    {"冯", "feng", 0.59},     {"邓", "deng", 0.58},         {"曹", "cao", 0.57},
    {"彭", "peng", 0.54},     {"曾", "zeng", 0.53},         {"肖", "xiao", 0.52},
    {"田", "tian", 0.51},     {"董", "dong", 0.49},         {"袁", "yuan", 0.48},
    {"潘", "pan", 0.47},      {"于", "yu", 0.46},           {"蒋", "jiang", 0.45},
    {"蔡", "cai", 0.44},      {"余", "yu", 0.43},           {"杜", "du", 0.42},
    {"叶", "ye", 0.41},       {"程", "cheng", 0.40},        {"苏", "su", 0.39},
    {"魏", "wei", 0.38},      {"吕", "lv", 0.37},           {"丁", "ding", 0.36},
    {"任", "ren", 0.35},      {"沈", "shen", 0.34},         {"姚", "yao", 0.33},
    {"卢", "lu", 0.32},       {"姜", "jiang", 0.31},        {"崔", "cui", 0.30},
    {"钟", "zhong", 0.29},    {"谭", "tan", 0.28},          {"陆", "lu", 0.27},
    {"汪", "wang", 0.26},     {"范", "fan", 0.25},          {"金", "jin", 0.24},
    {"石", "shi", 0.23},      {"廖", "liao", 0.22},         {"贾", "jia", 0.21},
    {"夏", "xia", 0.20},      {"韦", "wei", 0.19},          {"付", "fu", 0.18},
    {"方", "fang", 0.17},     {"白", "bai", 0.16},          {"邹", "zou", 0.15},
    {"孟", "meng", 0.14},     {"熊", "xiong", 0.13},        {"秦", "qin", 0.12},
    {"邱", "qiu", 0.11},      {"江", "jiang", 0.10},        {"尹", "yin", 0.09},
    {"薛", "xue", 0.09},      {"闫", "yan", 0.08},          {"段", "duan", 0.08},
    {"雷", "lei", 0.08},      {"侯", "hou", 0.07},          {"龙", "long", 0.07},
    {"史", "shi", 0.07},      {"陶", "tao", 0.06},          {"黎", "li", 0.06},
    {"贺", "he", 0.06},       {"顾", "gu", 0.05},           {"毛", "mao", 0.05},
    {"郝", "hao", 0.05},      {"龚", "gong", 0.05},         {"邵", "shao", 0.05},
    {"万", "wan", 0.04},      {"钱", "qian", 0.04},         {"严", "yan", 0.04},
    {"覃", "qin", 0.04},      {"武", "wu", 0.04},           {"戴", "dai", 0.04},
    {"莫", "mo", 0.03},       {"孔", "kong", 0.03},         {"向", "xiang", 0.03},
    {"汤", "tang", 0.03},     {"欧阳", "ouyang", 0.02},     {"司马", "sima", 0.005},
    {"诸葛", "zhuge", 0.003}, {"上官", "shangguan", 0.003},
};

/* Characters of given names, the most common first. */
static const struct given {
	const char *han, *pinyin;
} given_chars[] = {
    {"伟", "wei"},  {"芳", "fang"},  {"娜", "na"},   {"敏", "min"},  {"静", "jing"},
    {"丽", "li"},   {"强", "qiang"}, {"磊", "lei"},  {"军", "jun"},  {"洋", "yang"},
    {"勇", "yong"}, {"艳", "yan"},   {"杰", "jie"},  {"娟", "juan"}, {"涛", "tao"},
    {"明", "ming"}, {"超", "chao"},  {"霞", "xia"},  {"平", "ping"}, {"刚", "gang"},
    {"辉", "hui"},  {"玲", "ling"},  {"桂", "gui"},  {"英", "ying"}, {"华", "hua"},
    {"建", "jian"}, {"国", "guo"},   {"文", "wen"},  {"红", "hong"}, {"梅", "mei"},
    {"鹏", "peng"}, {"飞", "fei"},   {"宇", "yu"},   {"浩", "hao"},  {"婷", "ting"},
    {"雪", "xue"},  {"琳", "lin"},   {"晨", "chen"}, {"欣", "xin"},  {"怡", "yi"},
    {"佳", "jia"},  {"子", "zi"},    {"涵", "han"},  {"轩", "xuan"}, {"博", "bo"},
    {"然", "ran"},  {"萱", "xuan"},  {"宁", "ning"}, {"颖", "ying"}, {"慧", "hui"},
    {"倩", "qian"}, {"瑶", "yao"},   {"雨", "yu"},   {"思", "si"},   {"嘉", "jia"},
    {"俊", "jun"},  {"凯", "kai"},   {"斌", "bin"},  {"波", "bo"},   {"鑫", "xin"},
    {"健", "jian"}, {"亮", "liang"}, {"峰", "feng"}, {"晶", "jing"}, {"燕", "yan"},
    {"莉", "li"},   {"秀", "xiu"},   {"兰", "lan"},  {"志", "zhi"},  {"海", "hai"},
    {"东", "dong"}, {"春", "chun"},  {"晓", "xiao"}, {"小", "xiao"}, {"天", "tian"},
    {"一", "yi"},   {"诗", "shi"},   {"梓", "zi"},   {"若", "ruo"},  {"泽", "ze"},
    {"睿", "rui"},  {"彤", "tong"},  {"悦", "yue"},  {"昊", "hao"},  {"铭", "ming"},
    {"瑞", "rui"},  {"安", "an"},    {"晴", "qing"}, {"阳", "yang"}, {"宏", "hong"},
    {"云", "yun"},  {"婉", "wan"},   {"嘉", "jia"},  {"永", "yong"}, {"康", "kang"},
};

static const char *const english_first[] = {
    "James",  "Mary",  "John",    "Patricia", "Robert", "Jennifer", "Michael", "Linda",
    "David",  "Emma",  "William", "Barbara",  "Thomas", "Susan",    "Daniel",  "Jessica",
    "Oliver", "Sarah", "Lucas",   "Olivia",   "Ethan",  "Chloe",    "Noah",    "Grace",
    "Jack",   "Emily", "Henry",   "Anna",     "Peter",  "Laura",    "Mark",    "Rachel",
    "Paul",   "Kate",  "Samuel",  "Sophie",   "Adam",   "Hannah",   "Ryan",    "Lily",
};
static const char *const english_last[] = {
    "Smith",   "Johnson", "Williams", "Brown",  "Jones",  "Garcia", "Miller",   "Davis",
    "Wilson",  "Taylor",  "Anderson", "Thomas", "Moore",  "Martin", "Jackson",  "White",
    "Harris",  "Clark",   "Lewis",    "Walker", "Hall",   "Young",  "King",     "Wright",
    "Scott",   "Green",   "Baker",    "Adams",  "Nelson", "Hill",   "Campbell", "Mitchell",
    "Roberts", "Carter",  "Phillips", "Evans",  "Turner", "Parker", "Collins",  "Edwards",
};

enum { SITE_GZ, SITE_SH, SITE_CD, NSITES };

static const struct site_def {
	const char *code, *name, *lower, *area; /* area: landline area code */
	double share;
	const char *regions[8];
	double region_w[8];
} site_defs[NSITES] = {
    {"GZ",
     "Guangzhou",
     "gz",
     "20",
     0.40,
     {"广东省广州市", "广东省深圳市", "广东省佛山市", "广东省东莞市", "广西壮族自治区南宁市",
      "福建省厦门市", "海南省海口市", "湖南省长沙市"},
     {35, 25, 10, 10, 5, 5, 4, 6}},
    {"SH",
     "Shanghai",
     "sh",
     "21",
     0.35,
     {"上海市", "江苏省南京市", "江苏省苏州市", "浙江省杭州市", "浙江省宁波市", "安徽省合肥市",
      "山东省青岛市", "北京市"},
     {35, 12, 12, 15, 6, 6, 5, 9}},
    {"CD",
     "Chengdu",
     "cd",
     "28",
     0.25,
     {"四川省成都市", "重庆市", "四川省绵阳市", "云南省昆明市", "贵州省贵阳市", "陕西省西安市",
      "四川省宜宾市", "四川省南充市"},
     {40, 25, 6, 10, 8, 7, 2, 2}},
};

/* Mobile number blocks of the three carriers (the first three digits). */
static const char *const mobile_prefixes[] = {
    "130", "131", "132", "133", "134", "135", "136", "137", "138", "139", "145",
    "147", "150", "151", "152", "153", "155", "156", "157", "158", "159", "166",
    "170", "171", "173", "175", "176", "177", "178", "180", "181", "182", "183",
    "184", "185", "186", "187", "188", "189", "191", "198", "199",
};

static const char *const mail_domains_zh[] = {
    "qq.com",  "163.com",     "126.com",    "sina.com", "foxmail.com", "gmail.com",
    "139.com", "outlook.com", "aliyun.com", "sohu.com", "hotmail.com", "yeah.net"};
static const double mail_domains_zh_w[] = {30, 25, 8, 4, 4, 6, 3, 6, 3, 3, 4, 4};
static const char *const mail_domains_en[] = {"gmail.com", "outlook.com", "hotmail.com",
                                              "yahoo.com", "icloud.com",  "qq.com"};
static const double mail_domains_en_w[] = {45, 20, 10, 10, 10, 5};

enum kind { K_CALL, K_COMPLAINT, K_INQUIRY, K_RETURN, NKINDS };
static const char *const kind_names[NKINDS] = {"call", "complaint", "inquiry", "return_refund"};
enum channel { CH_PHONE, CH_WEB, CH_EMAIL, CH_CHAT, CH_SMS, NCHANNELS };
static const char *const channel_names[NCHANNELS] = {"phone", "web", "email", "chat", "sms"};

/* Ticket subjects by kind, Chinese and English. */
static const char *const subjects_zh[NKINDS][10] = {
    [K_CALL] = {"来电：查询订单状态", "来电：修改收货地址", "来电：账户无法登录", "来电：催促发货",
                "来电：咨询退换货流程", "来电：核对会员信息", "来电：取消订单",
                "来电：预约上门取件", "来电：发票抬头修改", "来电：积分未到账"},
    [K_COMPLAINT] = {"投诉：快递延误", "投诉：商品质量问题", "投诉：客服态度差",
                     "投诉：商品与描述不符", "投诉：重复扣款", "投诉：退款迟迟未到账",
                     "投诉：快递员未送货上门", "投诉：包装破损", "投诉：赠品未收到",
                     "投诉：售后电话无人接听"},
    [K_INQUIRY] = {"咨询订单物流进度", "咨询会员积分规则", "咨询商品尺码", "询问商品库存与到货时间",
                   "咨询发票开具", "咨询优惠券使用规则", "询问售后保修政策", "咨询修改收货地址",
                   "咨询支付方式", "咨询账户安全设置"},
    [K_RETURN] = {"申请退货：尺码不合适", "申请退款：未收到商品", "申请换货：商品破损",
                  "申请退货：七天无理由", "申请退款：发错商品", "申请换货：颜色不符",
                  "申请退款：商品有瑕疵", "申请退货：与描述不符", "申请退款：重复下单",
                  "申请换货：型号错误"},
};
static const char *const subjects_en[NKINDS][5] = {
    [K_CALL] = {"Call: order status", "Call: change delivery address", "Call: cannot log in",
                "Call: cancel order", "Call: membership details"},
    [K_COMPLAINT] = {"Complaint: late delivery", "Complaint: damaged item",
                     "Complaint: charged twice", "Complaint: item not as described",
                     "Complaint: refund not received"},
    [K_INQUIRY] = {"Question about delivery status", "Question about membership points",
                   "Size advice", "Invoice request", "Coupon not applied"},
    [K_RETURN] = {"Return: wrong size", "Refund: parcel never arrived", "Exchange: damaged item",
                  "Return: changed my mind", "Refund: wrong item sent"},
};

static const char *const notes_internal_zh[] = {
    "已核实订单信息，物流显示运输中，已告知客户预计送达时间。",
    "客户情绪较激动，已安抚并承诺24小时内回复。",
    "已联系仓库核实库存，等待回复。",
    "已提交退款申请，等待财务审核。",
    "客户要求电话回访，已预约明天上午。",
    "已向快递公司发起催件，单号已发给客户。",
    "已发送退货地址和寄回说明给客户。",
    "已升级至主管处理，附上客户提供的照片。",
    "客户提供了商品照片，确认存在质量问题。",
    "已解释退换货政策，客户表示理解。",
    "核实为系统重复扣款，已提交财务退回。",
    "客户为老会员，按VIP流程优先处理。",
};
static const char *const notes_customer_zh[] = {
    "您好，我们已收到您的反馈，正在为您处理，请耐心等待。",
    "您的退款已提交，预计1-3个工作日原路退回。",
    "已为您安排换货，新商品将在48小时内发出。",
    "感谢您的耐心等待，您反馈的问题已为您解决。",
    "快递公司已确认会在今天内派送，请保持电话畅通。",
};
static const char *const notes_internal_en[] = {
    "Checked the order: the parcel is in transit; told the customer the expected delivery date.",
    "Customer upset; promised a reply within 24 hours.",
    "Refund requested, waiting for finance.",
    "Sent the return address and instructions.",
    "Escalated to the supervisor with the customer's photos.",
};
static const char *const notes_customer_en[] = {
    "Thank you, we have received your request and are working on it.",
    "Your refund has been submitted and should arrive within 1-3 business days.",
    "A replacement will be shipped within 48 hours.",
};

/* Resolution codes and summaries by kind. */
static const struct resolution {
	const char *code, *summary_zh, *summary_en;
} resolutions[NKINDS][3] = {
    [K_CALL] = {{"answered", "已解答客户问题", "Answered the customer's question"},
                {"order_updated", "已按客户要求更新订单信息", "Updated the order as asked"},
                {"answered", "已告知办理流程", "Explained the procedure"}},
    [K_COMPLAINT] = {{"compensated", "已补偿优惠券并向客户致歉", "Apologised and gave a coupon"},
                     {"courier_escalated", "已向快递公司投诉并跟进处理",
                      "Complained to the courier and followed up"},
                     {"no_fault_found", "经核实非商品质量问题，已向客户说明",
                      "No fault found; explained to the customer"}},
    [K_INQUIRY] = {{"answered", "已解答客户问题", "Answered the customer's question"},
                   {"answered", "已发送相关说明链接", "Sent the help article"},
                   {"info_provided", "已提供到货时间", "Gave the delivery date"}},
    [K_RETURN] = {{"refunded", "退款已完成", "Refund completed"},
                  {"exchanged", "换货已完成", "Exchange completed"},
                  {"return_rejected", "不符合退货条件，已向客户说明",
                   "Not eligible for return; explained to the customer"}},
};

static const char *const comp_reasons_zh[] = {
    "快递延误补偿", "商品质量问题", "服务体验不佳致歉", "商品破损", "重复扣款退回", "赠品缺失补发",
};
static const char *const csat_comments_good[] = {
    "服务很好，问题很快解决了", "客服很耐心", "非常满意", "处理及时，点赞", "Quick and helpful",
};
static const char *const csat_comments_bad[] = {
    "处理速度太慢",  "问题没有解决",       "态度不错，但等待时间太长",
    "Took too long", "Problem not solved",
};

/* How busy each local hour of the day is: orders peak in the evening, the
 * contact centre's work during its opening hours. */
static const double order_hours[24] = {3, 2, 1, 1, 1, 1, 2, 3, 4,  5,  6,  6,
                                       7, 6, 5, 5, 6, 6, 7, 8, 10, 11, 10, 6};
static const double ticket_hours[24] = {0.5, 0.3, 0.2, 0.2, 0.2, 0.3, 0.6, 1.5, 4, 7, 8, 8,
                                        6,   7,   8,   8,   7,   6,   5,   5,   5, 4, 3, 1.5};

/* ---- the generator ------------------------------------------------------ */

enum ostatus {
	OS_PLACED,
	OS_PAID,
	OS_SHIPPED,
	OS_DELIVERED,
	OS_CANCELLED,
	OS_RETURNED,
	OS_REFUNDED
};
static const char *const ostatus_names[] = {"placed",    "paid",     "shipped", "delivered",
                                            "cancelled", "returned", "refunded"};

enum tstate { S_NEW, S_QUEUED, S_OFFERED, S_IN_PROGRESS, S_PENDING, S_RESOLVED, S_CLOSED, NSTATES };
static const char *const state_names[NSTATES] = {
    "new", "queued", "offered", "in_progress", "pending_customer", "resolved", "closed"};

struct agent {
	uint32_t id;
	char user[65];
	int site;
	int supervisor;
};

struct db_options {
	const char *host, *socket, *user, *password_file, *name;
	int port;
	char password[256];
};

struct gen_options {
	struct db_options db;
	uint64_t customers, seed;
	int64_t end_ms;
	int years;
	unsigned connections, chunk, batch, agents_per_site;
	const char *agent_hash;
	int append, force;
};

struct gcust {
	uint64_t id;
	int site, english, flagged;
	char name[64], mail_name[48];
	const char *region;
	int64_t joined, active_to, merged_at;
	uint64_t merged_into;
	double w_orders, w_tickets;
	unsigned norders, ntickets;
	size_t order0; /* its first order in the chunk's order array, before sorting */
};

struct gorder {
	uint64_t id;
	size_t cust, orig;
	int64_t at, updated, amount, refunded;
	int status;
};

struct gticket {
	uint64_t id;
	size_t cust, orig;
	long order; /* orig index of its order, -1 for none */
	int64_t at;
	int kind, channel, severity, priority;
	const char *subject;
};

/* One ticket event before it is sealed. */
struct gevent {
	const char *op, *old_value, *new_value;
	int actor; /* agent index, -1 for "system" */
	json_t *detail;
	int64_t gap, at;
	int from, to;          /* states; -1 for a note */
	int target;            /* an offer's agent index */
	const char *note_body; /* a note event's note */
	const struct resolution *res;
};

/* What a ticket's history left it as. */
struct gpath {
	struct gevent ev[PATH_MAX_EVENTS];
	int n;
	int state, owner, queue, version, escalation, reopen;
	int64_t enqueued_at, first_response, resolved_at, closed_at, hold_at, accept_at, last_at;
	const struct resolution *res;
};

/* A chunk of rows ready for a loader. */
struct chunk {
	size_t index;
	uint64_t customers;
	struct inserts t[T__COUNT];
	struct chunk *next;
};

struct gen {
	struct gen_options o;
	struct rng rng;
	unsigned site_id[NSITES];
	unsigned queue_service[NSITES], queue_en, queue_refunds, queue_complaints;
	struct agent *agents;
	size_t nagents;
	size_t *staff[NSITES], nstaff[NSITES], *leads[NSITES], nleads[NSITES];
	uint64_t next_id[T__COUNT]; /* the next id of each table */
	uint64_t rows[T__COUNT];    /* rows generated */
	int64_t start_ms;
	/* scratch of the chunk being generated */
	struct gcust *cust;
	struct gorder *ord;
	struct gticket *tix;
	struct order_ref {
		uint64_t id;
		int64_t amount;
	} * oref; /* by orig index */
	size_t ord_cap, oref_cap, tix_cap;
	struct chunk *c;
};

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void
die(const char *fmt, ...)
{
	va_list ap;

	fputs("ccgen: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void *
xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size);

	if (p == NULL)
		die("out of memory");
	return p;
}

/* CPU seconds (user and system, all threads) this process has used. */
static double
cpu_seconds(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static double
now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ms + gap, but never later than the end of the history. */
static int64_t
after(const struct gen *g, int64_t ms, int64_t gap)
{
	int64_t t = ms + gap, last = g->o.end_ms - 1;

	if (t > last)
		t = last > ms ? last : ms;
	return t;
}

/* A time in [lo, hi] whose local hour of day follows hours[]. */
static int64_t
draw_time(struct rng *r, int64_t lo, int64_t hi, const double hours[24])
{
	if (hi - lo < DAY_MS)
		return rng_range(r, lo, hi);
	for (int attempt = 0; attempt < 8; attempt++) {
		int64_t day =
		    rng_range(r, (lo + LOCAL_OFFSET_MS) / DAY_MS, (hi + LOCAL_OFFSET_MS) / DAY_MS);
		int64_t t = day * DAY_MS + (int64_t)rng_weighted(r, hours, 24) * HOUR_MS +
		            rng_range(r, 0, HOUR_MS - 1) - LOCAL_OFFSET_MS;
		if (t >= lo && t <= hi)
			return t;
	}
	return rng_range(r, lo, hi);
}

/* Split total among n by weight: each gets total * w / sum rounded so the
 * parts add up to total exactly (systematic rounding on the running sum). */
static void
apportion(const struct gcust *c, size_t n, int tickets, uint64_t total, unsigned *out)
{
	double sum = 0, acc = 0;
	uint64_t prev = 0;

	for (size_t i = 0; i < n; i++)
		sum += tickets ? c[i].w_tickets : c[i].w_orders;
	for (size_t i = 0; i < n; i++) {
		uint64_t cum;
		acc += tickets ? c[i].w_tickets : c[i].w_orders;
		if (sum <= 0)
			cum = total * (i + 1) / n;
		else
			cum = i + 1 == n ? total : (uint64_t)floor((double)total * acc / sum);
		if (cum < prev)
			cum = prev;
		out[i] = (unsigned)(cum - prev);
		prev = cum;
	}
}

/* A Chinese name (and its pinyin for e-mail) or an English one. */
static void
draw_name(struct rng *r, int english, char *name, size_t namelen, char *mail, size_t maillen)
{
	const struct surname *s = surnames;
	const struct given *g1, *g2;
	double sum = 0, x;

	if (english) {
		const char *f = PICK(r, english_first), *l = PICK(r, english_last);
		snprintf(name, namelen, "%s %s", f, l);
		snprintf(mail, maillen, "%s%s%s", f, rng_chance(r, 0.5) ? "." : "", l);
		return;
	}
	for (size_t i = 0; i < NELEM(surnames); i++)
		sum += surnames[i].share;
	x = rng_unit(r) * sum;
	for (size_t i = 0; i < NELEM(surnames) && x >= surnames[i].share; i++, s++)
		x -= surnames[i].share;
	if (s == surnames + NELEM(surnames))
		s--;
	g1 = &PICK(r, given_chars);
	if (rng_chance(r, 0.3)) {
		snprintf(name, namelen, "%s%s", s->han, g1->han);
		snprintf(mail, maillen, "%s%s", s->pinyin, g1->pinyin);
		return;
	}
	g2 = &PICK(r, given_chars);
	snprintf(name, namelen, "%s%s%s", s->han, g1->han, g2->han);
	snprintf(mail, maillen, "%s%s%s%s", s->pinyin, rng_chance(r, 0.3) ? "." : "", g1->pinyin,
	         g2->pinyin);
}

static size_t
pick_staff(struct gen *g, int site)
{
	return g->staff[site][rng_below(&g->rng, g->nstaff[site])];
}

static size_t
pick_lead(struct gen *g, int site)
{
	return g->leads[site][rng_below(&g->rng, g->nleads[site])];
}

/* ---- customers and contacts ---- */

static void
customer_draw(struct gen *g, struct gcust *c, const struct gcust *prev)
{
	struct rng *r = &g->rng;
	double site_w[NSITES] = {site_defs[0].share, site_defs[1].share, site_defs[2].share};
	const struct site_def *sd;

	memset(c, 0, sizeof *c);
	c->id = g->next_id[T_CUSTOMERS]++;
	c->site = (int)rng_weighted(r, site_w, NSITES);
	sd = &site_defs[c->site];
	c->english = rng_chance(r, 0.06);
	draw_name(r, c->english, c->name, sizeof c->name, c->mail_name, sizeof c->mail_name);
	c->region = sd->regions[rng_weighted(r, sd->region_w, 8)];
	/* the customer base grew over the years: joining dates lean recent */
	c->joined = g->start_ms +
	            (int64_t)((double)(g->o.end_ms - DAY_MS - g->start_ms) * sqrt(rng_unit(r)));
	c->active_to = g->o.end_ms - 1;
	if (rng_chance(r, 0.3)) /* churned */
		c->active_to = after(g, c->joined, (int64_t)rng_exp(r, 400.0 * DAY_MS) + DAY_MS);
	/* orders: 1 in 10 never bought; one-off buyers are common and a few
	 * buy very often (a shifted Pareto: weights from 0.25, mean about 2.8) */
	c->w_orders = rng_chance(r, 0.1) ? 0 : fmin(rng_pareto(r, 1.2), 80.0) - 0.75;
	/* contacts grow with purchases, but slower than them */
	c->w_tickets = rng_chance(r, 0.35) ? 0 : (0.3 + sqrt(c->w_orders)) * rng_exp(r, 1.0);
	c->flagged = rng_chance(r, 0.0005);
	if (prev != NULL && prev->merged_into == 0 && rng_chance(r, 0.001)) {
		/* a duplicate record, merged into the customer made before it */
		c->merged_into = prev->id;
		c->merged_at = after(g, c->joined, rng_range(r, DAY_MS, 300 * DAY_MS));
	}
}

/* Store one contact, normalised as the server does. */
static void
contact_write(struct gen *g, const struct gcust *c, const char *kind, const char *raw, int primary,
              int64_t at)
{
	struct inserts *t = &g->c->t[T_CONTACTS];
	char value[CONTACT_EMAIL_MAX + 1];
	int rc = 0;

	if (strcmp(kind, "phone") == 0)
		rc = contact_phone_normalize(raw, "86", value, sizeof value);
	else if (strcmp(kind, "email") == 0)
		rc = contact_email_normalize(raw, value, sizeof value);
	else
		snprintf(value, sizeof value, "%s", raw);
	if (rc != 0)
		die("generated %s \"%s\" does not normalise", kind, raw);
	ins_row_begin(t, T_CONTACTS);
	v_u64(t, g->next_id[T_CONTACTS]++);
	v_u64(t, c->id);
	v_str(t, kind);
	v_str(t, value);
	v_u64(t, (uint64_t)primary);
	v_time(t, at);
	ins_row_end(t);
}

/* A mobile number as a customer might type it. mobile is 0 or 1: the
 * customer's first or second number, two disjoint inputs of one
 * permutation, so no number is ever given twice. */
static void
mobile_raw(struct gen *g, uint64_t id, int mobile, char *out, size_t outlen)
{
	uint64_t n =
	    permute(2 * id + (uint64_t)mobile, NELEM(mobile_prefixes) * 100000000ULL, KEY_PHONE);
	const char *pre = mobile_prefixes[n / 100000000ULL];
	unsigned d = (unsigned)(n % 100000000ULL);

	switch (rng_below(&g->rng, 5)) {
	case 0:
		snprintf(out, outlen, "%s%08u", pre, d);
		break;
	case 1:
		snprintf(out, outlen, "%s %04u %04u", pre, d / 10000, d % 10000);
		break;
	case 2:
		snprintf(out, outlen, "%s-%04u-%04u", pre, d / 10000, d % 10000);
		break;
	case 3:
		snprintf(out, outlen, "+86 %s %04u %04u", pre, d / 10000, d % 10000);
		break;
	default:
		snprintf(out, outlen, "0086%s%08u", pre, d);
		break;
	}
}

static void
contacts_write(struct gen *g, const struct gcust *c)
{
	struct rng *r = &g->rng;
	char raw[300];
	int64_t later = after(g, c->joined, rng_range(r, 0, 400 * DAY_MS));

	mobile_raw(g, c->id, 0, raw, sizeof raw);
	contact_write(g, c, "phone", raw, 1, c->joined);
	if (rng_chance(r, 0.08)) {
		mobile_raw(g, c->id, 1, raw, sizeof raw);
		contact_write(g, c, "phone", raw, 0, later);
	}
	if (c->id < 80000000 && rng_chance(r, 0.07)) {
		/* a landline in the site's city: 8 digits, not starting with 0 or 1 */
		uint64_t n = 20000000 + permute(c->id, 80000000, KEY_LANDLINE);
		snprintf(raw, sizeof raw, "(0%s) %04u %04u", site_defs[c->site].area,
		         (unsigned)(n / 10000), (unsigned)(n % 10000));
		contact_write(g, c, "phone", raw, 0, c->joined);
	}
	if (c->id < 100000000 && rng_chance(r, c->english ? 0.85 : 0.55)) {
		size_t d = c->english
		               ? rng_weighted(r, mail_domains_en_w, NELEM(mail_domains_en_w))
		               : rng_weighted(r, mail_domains_zh_w, NELEM(mail_domains_zh_w));
		const char *domain = c->english ? mail_domains_en[d] : mail_domains_zh[d];
		uint64_t n = permute(c->id, 100000000, KEY_EMAIL);
		if (!c->english && strcmp(domain, "qq.com") == 0)
			snprintf(raw, sizeof raw, "%" PRIu64 "@qq.com", 100000 + n);
		else
			snprintf(raw, sizeof raw, "%s%s%" PRIu64 "@%s",
			         rng_chance(r, 0.1) ? " " : "", c->mail_name, n, domain);
		/* some type capitals; the stored form is lower case */
		if (rng_chance(r, 0.1) && raw[0] >= 'a' && raw[0] <= 'z')
			raw[0] = (char)(raw[0] - 'a' + 'A');
		contact_write(g, c, "email", raw, 0, c->joined);
	}
	if (rng_chance(r, 0.65)) {
		snprintf(raw, sizeof raw, "M%010" PRIu64,
		         permute(c->id, 10000000000ULL, KEY_MEMBER));
		contact_write(g, c, "member_id", raw, 0, c->joined);
	}
}

/* RFM of one customer's orders at the end of the history, by the server's
 * rule (orders not cancelled count). */
static void
customer_rfm(const struct gen *g, const struct gcust *c, struct rfm_result *out)
{
	struct rfm_orders o = {0};

	for (size_t k = c->order0; k < c->order0 + c->norders; k++) {
		const struct gorder *x = &g->ord[k];
		if (x->status == OS_CANCELLED)
			continue;
		o.orders++;
		o.net_minor += x->amount - x->refunded;
		if (x->amount > x->refunded) {
			o.kept++;
			if (x->at / 1000 > o.last_kept_at)
				o.last_kept_at = x->at / 1000;
		}
		if (o.first_at == 0 || x->at / 1000 < o.first_at)
			o.first_at = x->at / 1000;
	}
	rfm_score(&o, &rfm_default_thresholds, g->o.end_ms / 1000, out);
}

static void
customer_write(struct gen *g, const struct gcust *c)
{
	struct inserts *t = &g->c->t[T_CUSTOMERS];
	struct rfm_result r;

	customer_rfm(g, c, &r);
	ins_row_begin(t, T_CUSTOMERS);
	v_u64(t, c->id);
	v_str(t, c->name);
	v_u64(t, g->site_id[c->site]);
	v_str(t, c->region);
	v_str(t, c->english ? "en" : "zh-CN");
	v_str(t, r.tier);
	for (int i = 0; i < 3; i++) {
		int score = i == 0 ? r.recency : i == 1 ? r.frequency : r.monetary;
		if (score == 0)
			v_null(t);
		else
			v_u64(t, (uint64_t)score);
	}
	v_time(t, g->o.end_ms);
	v_time(t, c->flagged ? after(g, c->joined, 30 * DAY_MS) : 0);
	v_str(t, c->flagged ? "多次无理投诉并索要补偿" : NULL);
	v_id(t, c->merged_into);
	v_time(t, c->merged_at);
	if (c->merged_into)
		v_u64(t, g->agents[pick_lead(g, c->site)].id);
	else
		v_null(t);
	v_time(t, c->joined);
	v_time(t, c->merged_at ? c->merged_at : c->joined);
	ins_row_end(t);
}

/* Care, thanks and win-back calls that belong to no ticket. */
static void
customer_followup(struct gen *g, const struct gcust *c)
{
	static const char *const purposes[] = {"care", "thanks", "win_back"};
	static const double w[] = {40, 20, 40};
	struct inserts *t = &g->c->t[T_FOLLOWUPS];
	struct rng *r = &g->rng;
	int64_t due = rng_range(r, g->o.end_ms - 30 * DAY_MS, g->o.end_ms + 14 * DAY_MS);
	int64_t created = due - rng_range(r, DAY_MS, 7 * DAY_MS);
	int done = due < g->o.end_ms && rng_chance(r, 0.8);

	if (created < c->joined || created >= g->o.end_ms)
		return;
	ins_row_begin(t, T_FOLLOWUPS);
	v_u64(t, g->next_id[T_FOLLOWUPS]++);
	v_u64(t, c->id);
	v_null(t);
	v_str(t, purposes[rng_weighted(r, w, NELEM(w))]);
	v_time(t, due);
	v_u64(t, g->agents[pick_staff(g, c->site)].id);
	v_null(t);
	v_time(t, created);
	v_time(t, done ? after(g, due, rng_range(r, 0, 4 * HOUR_MS)) : 0);
	v_str(t, done ? (rng_chance(r, 0.7) ? "reached" : "no_answer") : NULL);
	v_null(t);
	ins_row_end(t);
}

/* ---- orders ---- */

static void
order_draw(struct gen *g, const struct gcust *c, size_t cust, struct gorder *o)
{
	struct rng *r = &g->rng;
	int64_t age, amount;

	o->cust = cust;
	o->at = draw_time(r, c->joined, c->active_to, order_hours);
	age = g->o.end_ms - o->at;
	amount = (int64_t)rng_lognormal(r, 22000, 1.0);
	amount = amount < 990 ? 990 : amount > 5000000 ? 5000000 : amount;
	o->amount = amount / 10 * 10;
	o->refunded = 0;
	if (age < 2 * DAY_MS) {
		static const double w[] = {15, 30, 50, 0, 5, 0, 0};
		o->status = (int)rng_weighted(r, w, NELEM(w));
	} else if (age < 10 * DAY_MS) {
		static const double w[] = {0, 0, 35, 55, 5, 3, 2};
		o->status = (int)rng_weighted(r, w, NELEM(w));
	} else {
		static const double w[] = {0, 0, 0, 86, 5, 4.5, 4.5};
		o->status = (int)rng_weighted(r, w, NELEM(w));
		/* a partial refund: delivered, part of the money back */
		if (o->status == OS_DELIVERED && rng_chance(r, 0.04))
			o->refunded = o->amount * rng_range(r, 10, 50) / 100 / 100 * 100;
	}
	if (o->status == OS_RETURNED || o->status == OS_REFUNDED)
		o->refunded = o->amount;
	o->updated =
	    o->status == OS_PLACED ? o->at : after(g, o->at, rng_range(r, HOUR_MS, 20 * DAY_MS));
}

static int
cmp_order(const void *a, const void *b)
{
	const struct gorder *x = a, *y = b;

	if (x->at != y->at)
		return x->at < y->at ? -1 : 1;
	return x->orig < y->orig ? -1 : x->orig > y->orig;
}

/* External order number: the local date and ten digits unique per id. */
static void
order_write(struct gen *g, struct gorder *o)
{
	struct inserts *t = &g->c->t[T_ORDERS];
	char ext[32];
	time_t sec = (time_t)((o->at + LOCAL_OFFSET_MS) / 1000);
	struct tm tm;

	gmtime_r(&sec, &tm);
	snprintf(ext, sizeof ext, "%02d%02d%02d%010" PRIu64, tm.tm_year % 100, tm.tm_mon + 1,
	         tm.tm_mday, permute(o->id, 10000000000ULL, KEY_ORDER));
	ins_row_begin(t, T_ORDERS);
	v_u64(t, o->id);
	v_str(t, ext);
	v_u64(t, g->cust[o->cust].id);
	v_u64(t, (uint64_t)o->amount);
	v_u64(t, (uint64_t)o->refunded);
	v_str(t, "CNY");
	v_str(t, ostatus_names[o->status]);
	v_time(t, o->at);
	v_time(t, o->updated);
	ins_row_end(t);
}

/* ---- tickets and their history ---- */

/* The queue a ticket waits in, by the demo set-up's codes (deploy/up):
 * complaints and returns have their own queues, English speakers theirs,
 * everything else the site's. */
static unsigned
ticket_queue(const struct gen *g, const struct gticket *t, const struct gcust *c, const char **code)
{
	if (t->kind == K_COMPLAINT) {
		*code = "complaints";
		return g->queue_complaints;
	}
	if (t->kind == K_RETURN) {
		*code = "refunds";
		return g->queue_refunds;
	}
	if (c->english) {
		*code = "en.service";
		return g->queue_en;
	}
	*code = c->site == SITE_GZ   ? "gz.service"
	        : c->site == SITE_SH ? "sh.service"
	                             : "cd.service";
	return g->queue_service[c->site];
}

static void
ticket_draw(struct gen *g, const struct gcust *c, size_t cust, struct gticket *t)
{
	static const double kinds_order[NKINDS] = {15, 20, 30, 35};
	static const double kinds_free[NKINDS] = {40, 10, 50, 0};
	static const double channels[NCHANNELS] = {45, 15, 12, 22, 6};
	static const double severities[4] = {5, 15, 40, 40};
	struct rng *r = &g->rng;
	int64_t last = g->o.end_ms - MIN_MS;

	t->cust = cust;
	t->order = -1;
	if (c->norders > 0 && rng_chance(r, 0.6)) {
		/* about an order: a few days after it */
		size_t k = c->order0 + rng_below(r, c->norders);
		int64_t bought = g->ord[k].at < last ? g->ord[k].at : last;
		t->order = (long)k;
		t->at = bought + (int64_t)rng_exp(r, 3.0 * DAY_MS) + 10 * MIN_MS;
		if (t->at > last)
			t->at = rng_range(r, bought, last);
		t->kind = (int)rng_weighted(r, kinds_order, NKINDS);
	} else {
		int64_t hi = c->active_to + 30 * DAY_MS < last ? c->active_to + 30 * DAY_MS : last;
		t->at = draw_time(r, c->joined < hi ? c->joined : hi, hi, ticket_hours);
		t->kind = (int)rng_weighted(r, kinds_free, NKINDS);
	}
	t->channel = t->kind == K_CALL ? CH_PHONE : (int)rng_weighted(r, channels, NCHANNELS);
	t->severity = t->kind == K_COMPLAINT ? 1 + (int)rng_weighted(r, severities, 4) : 0;
	t->priority = t->severity ? 9 - t->severity : 5;
	if (!t->severity && rng_chance(r, 0.03))
		t->priority = rng_chance(r, 0.5) ? 4 : 6;
	t->subject = c->english ? subjects_en[t->kind][rng_below(r, 5)]
	                        : subjects_zh[t->kind][rng_below(r, 10)];
}

/* The state a ticket of this age has reached: almost all old tickets are
 * closed; the open ones are recent, with a few forgotten ones. */
static int
target_state(struct rng *r, int64_t age)
{
	static const double open_w[] = {5, 15, 5, 40, 35}; /* new .. pending_customer */
	double p_open = age < HOUR_MS       ? 0.9
	                : age < DAY_MS      ? 0.5
	                : age < 3 * DAY_MS  ? 0.25
	                : age < 14 * DAY_MS ? 0.06
	                                    : 0.002;

	if (rng_chance(r, p_open))
		return S_NEW + (int)rng_weighted(r, open_w, NELEM(open_w));
	if (age < 7 * DAY_MS && rng_chance(r, 0.5))
		return S_RESOLVED;
	return S_CLOSED;
}

static struct gevent *
path_add(struct gpath *p, const char *op, int from, int to, int actor, int64_t gap)
{
	struct gevent *e;

	if (p->n >= PATH_MAX_EVENTS)
		die("internal error: a ticket path over %d events", PATH_MAX_EVENTS);
	e = &p->ev[p->n++];
	memset(e, 0, sizeof *e);
	e->op = op;
	e->from = from;
	e->to = to;
	e->old_value = from >= 0 ? state_names[from] : NULL;
	e->new_value = to >= 0 ? state_names[to] : NULL;
	e->actor = actor;
	e->target = -1;
	e->gap = gap;
	return e;
}

static void
note_add(struct gen *g, struct gpath *p, const struct gcust *c, int author, int64_t gap)
{
	struct rng *r = &g->rng;
	int visible = rng_chance(r, 0.25);
	struct gevent *e = path_add(p, "note", -1, -1, author, gap);

	e->new_value = visible ? "customer" : "internal";
	if (c->english)
		e->note_body = visible ? PICK(r, notes_customer_en) : PICK(r, notes_internal_en);
	else
		e->note_body = visible ? PICK(r, notes_customer_zh) : PICK(r, notes_internal_zh);
}

static void
resolve_add(struct gen *g, struct gpath *p, const struct gticket *t, const struct gcust *c,
            int owner, int64_t gap)
{
	const struct resolution *res = &resolutions[t->kind][rng_below(&g->rng, 3)];
	struct gevent *e = path_add(p, "resolve", S_IN_PROGRESS, S_RESOLVED, owner, gap);

	e->res = res;
	e->detail = json_pack("{s:s,s:s}", "code", res->code, "summary",
	                      c->english ? res->summary_en : res->summary_zh);
}

/* How long work takes before it is resolved. */
static int64_t
resolve_gap(struct rng *r, const struct gticket *t, int direct)
{
	static const double mean_h[NKINDS] = {2, 20, 4, 30};

	if (direct)
		return rng_range(r, MIN_MS, 10 * MIN_MS);
	return (int64_t)rng_exp(r, mean_h[t->kind] * HOUR_MS) + 5 * MIN_MS;
}

/* Time in the queue before an offer: complaints are served first. */
static int64_t
queue_wait(struct rng *r, const struct gticket *t)
{
	double mean = t->kind == K_COMPLAINT ? 60000 : 180000;

	return (int64_t)fmin(rng_exp(r, mean), 2.0 * HOUR_MS) + 5000;
}

/* Optional events a ticket's path may carry. */
struct extras {
	int notes, hold, escalate, decline, reopen;
};

/* Events a path will have: at most PATH_MAX_EVENTS, dropping optional ones. */
static void
extras_fit(struct extras *x, int target, int direct)
{
	int count = 1;

	if (target < S_IN_PROGRESS)
		x->notes = x->hold = x->escalate = x->reopen = 0;
	if (target >= S_IN_PROGRESS)
		count += direct ? 1 : 2;
	else if (target == S_OFFERED)
		count += 1;
	count += 2 * x->decline + x->notes + x->escalate + 2 * x->reopen;
	count += x->hold ? (target == S_PENDING ? 1 : 2) : 0;
	count += (target >= S_RESOLVED) + (target == S_CLOSED);
	while (count > PATH_MAX_EVENTS) {
		if (x->reopen)
			x->reopen = 0, count -= 2;
		else if (x->decline)
			x->decline = 0, count -= 2;
		else if (x->escalate)
			x->escalate = 0, count -= 1;
		else if (x->notes)
			x->notes--, count -= 1;
		else
			x->hold = 0, count -= 2; /* never the hold of a pending ticket: it fits */
	}
}

/* The events from the ticket's creation up to where it is now, by the rows
 * of the server's state table (server/ticket_state.c). */
static void
ticket_plan(struct gen *g, const struct gticket *t, const struct gcust *c, int site,
            const char *queue, struct gpath *p)
{
	struct rng *r = &g->rng;
	int target = target_state(r, g->o.end_ms - t->at);
	int direct = t->channel == CH_PHONE && t->kind != K_COMPLAINT && rng_chance(r, 0.65);
	int owner = (int)pick_staff(g, site);
	struct extras x;
	struct gevent *e;

	if (target == S_NEW)
		direct = 1; /* taken by an agent, not yet accepted */
	if (target == S_QUEUED || target == S_OFFERED)
		direct = 0;
	x.notes = rng_chance(r, 0.17) ? 1 + rng_chance(r, 0.15) : 0;
	x.hold = target == S_PENDING ||
	         (target >= S_RESOLVED && t->kind != K_CALL && rng_chance(r, 0.07));
	x.escalate = t->kind == K_COMPLAINT && t->severity <= 2 && rng_chance(r, 0.4);
	x.decline = !direct && rng_chance(r, 0.05);
	x.reopen = target >= S_RESOLVED && rng_chance(r, 0.02);
	extras_fit(&x, target, direct);
	memset(p, 0, sizeof *p);
	e = path_add(p, "create", -1, direct ? S_NEW : S_QUEUED, direct ? owner : -1, 0);
	e->detail = json_pack("{s:s,s:s,s:i}", "kind", kind_names[t->kind], "channel",
	                      channel_names[t->channel], "priority", t->priority);
	if (!direct)
		json_object_set_new(e->detail, "queue", json_string(queue));
	if (target == S_NEW || target == S_QUEUED)
		return;
	if (!direct) {
		if (x.decline) {
			int other = (int)pick_staff(g, site);
			e = path_add(p, "offer", S_QUEUED, S_OFFERED, -1, queue_wait(r, t));
			e->target = other;
			e->detail = json_pack("{s:s}", "agent", g->agents[other].user);
			path_add(p, "decline", S_OFFERED, S_QUEUED, other,
			         rng_range(r, 5000, 40000));
		}
		e = path_add(p, "offer", S_QUEUED, S_OFFERED, -1, queue_wait(r, t));
		e->target = owner;
		e->detail = json_pack("{s:s}", "agent", g->agents[owner].user);
		if (target == S_OFFERED)
			return;
		path_add(p, "accept", S_OFFERED, S_IN_PROGRESS, owner, rng_range(r, 3000, 40000));
	} else {
		e = path_add(p, "accept", S_NEW, S_IN_PROGRESS, owner, rng_range(r, 20000, 180000));
		e->detail = json_pack("{s:s}", "queue", queue);
	}
	if (x.escalate)
		path_add(p, "escalate", S_IN_PROGRESS, S_IN_PROGRESS, owner,
		         rng_range(r, 2 * MIN_MS, 30 * MIN_MS));
	if (x.notes > 0) {
		note_add(g, p, c, owner, rng_range(r, MIN_MS, 30 * MIN_MS));
		x.notes--;
	}
	if (x.hold) {
		path_add(p, "hold", S_IN_PROGRESS, S_PENDING, owner,
		         rng_range(r, 5 * MIN_MS, HOUR_MS));
		if (target != S_PENDING)
			path_add(p, "customer_replied", S_PENDING, S_IN_PROGRESS, -1,
			         (int64_t)rng_exp(r, 10.0 * HOUR_MS) + 30 * MIN_MS);
	}
	for (; x.notes > 0; x.notes--)
		note_add(g, p, c, owner, rng_range(r, MIN_MS, 3 * HOUR_MS));
	if (target < S_RESOLVED)
		return;
	resolve_add(g, p, t, c, owner, resolve_gap(r, t, direct));
	if (x.reopen) {
		path_add(p, "reopen", S_RESOLVED, S_IN_PROGRESS, -1,
		         rng_range(r, DAY_MS, 3 * DAY_MS));
		resolve_add(g, p, t, c, owner, rng_range(r, HOUR_MS, 8 * HOUR_MS));
	}
	if (target == S_CLOSED) /* an agent closes a call at once; the rest close by timer */
		path_add(p, "close", S_RESOLVED, S_CLOSED, direct ? owner : -1,
		         direct ? rng_range(r, 5000, 60000) : rng_range(r, 3 * DAY_MS, 7 * DAY_MS));
}

/* Give the events their times (squeezed to end before the history does)
 * and work out the ticket's fields as the server's transitions set them. */
static void
path_finish(const struct gen *g, const struct gticket *t, struct gpath *p)
{
	int64_t total = 0, avail = g->o.end_ms - 1000 - t->at, at = t->at;

	for (int i = 0; i < p->n; i++)
		total += p->ev[i].gap;
	p->owner = -1;
	for (int i = 0; i < p->n; i++) {
		struct gevent *e = &p->ev[i];
		int64_t gap = e->gap;
		if (total > avail)
			gap = (int64_t)((double)gap * (double)avail / (double)total);
		if (i > 0 && gap < 1)
			gap = 1;
		e->at = at += gap;
		if (e->from < 0 && e->to < 0) /* a note changes no field */
			continue;
		p->state = e->to;
		p->version++;
		if (strcmp(e->op, "create") == 0) {
			if (e->to == S_QUEUED) {
				p->enqueued_at = e->at;
				p->queue = 1;
			}
		} else if (strcmp(e->op, "offer") == 0) {
			p->owner = e->target;
		} else if (strcmp(e->op, "decline") == 0) {
			p->owner = -1;
		} else if (strcmp(e->op, "accept") == 0) {
			p->owner = e->actor;
			p->queue = 1;
			if (p->accept_at == 0)
				p->accept_at = p->first_response = e->at;
		} else if (strcmp(e->op, "escalate") == 0) {
			p->escalation++;
		} else if (strcmp(e->op, "hold") == 0) {
			p->hold_at = e->at;
		} else if (strcmp(e->op, "resolve") == 0) {
			p->resolved_at = e->at;
			p->res = e->res;
		} else if (strcmp(e->op, "reopen") == 0) {
			p->reopen++;
			p->resolved_at = 0;
			p->res = NULL;
		} else if (strcmp(e->op, "close") == 0) {
			p->closed_at = e->at;
		}
	}
	p->last_at = at;
}

static void
note_write(struct gen *g, uint64_t ticket, uint64_t id, const struct gevent *e)
{
	struct inserts *t = &g->c->t[T_NOTES];

	ins_row_begin(t, T_NOTES);
	v_u64(t, id);
	v_u64(t, ticket);
	v_str(t, "agent");
	v_u64(t, g->agents[e->actor].id);
	v_str(t, e->new_value);
	v_str(t, e->note_body);
	v_time(t, e->at);
	ins_row_end(t);
}

/* Seal the events into the chain and write them (and their notes); head
 * receives the last event's hash. */
static void
events_write(struct gen *g, uint64_t ticket, struct gpath *p, unsigned char head[AUDIT_HASH_LEN])
{
	struct inserts *t = &g->c->t[T_EVENTS];

	for (int i = 0; i < p->n; i++) {
		struct gevent *e = &p->ev[i];
		struct audit_event a = {0};
		char *text = NULL;

		if (e->from < 0 && e->to < 0) {
			uint64_t note = g->next_id[T_NOTES]++;
			note_write(g, ticket, note, e);
			e->detail = json_pack("{s:I}", "note_id", (json_int_t)note);
		}
		/* the server's encoding of a detail (store-ticket.c) */
		if (e->detail &&
		    (text = json_dumps(e->detail, JSON_COMPACT | JSON_SORT_KEYS)) == NULL)
			die("out of memory");
		a.ticket_id = ticket;
		a.seq = (uint32_t)i + 1;
		a.actor_agent_id = e->actor >= 0 ? g->agents[e->actor].id : 0;
		a.actor = audit_text(e->actor >= 0 ? g->agents[e->actor].user : "system");
		a.op = audit_text(e->op);
		a.old_value = audit_text(e->old_value);
		a.new_value = audit_text(e->new_value);
		a.detail = audit_text(text);
		a.time_ms = e->at;
		if (audit_seal(&a, i > 0 ? head : NULL) != 0)
			die("cannot hash an event");
		memcpy(head, a.hash, AUDIT_HASH_LEN);
		ins_row_begin(t, T_EVENTS);
		v_u64(t, g->next_id[T_EVENTS]++);
		v_u64(t, ticket);
		v_u64(t, a.seq);
		v_id(t, a.actor_agent_id);
		v_str(t, a.actor.ptr);
		v_str(t, e->op);
		v_str(t, e->old_value);
		v_str(t, e->new_value);
		v_str(t, text);
		v_time(t, e->at);
		v_hash(t, a.prev_hash);
		v_hash(t, a.hash);
		ins_row_end(t);
		free(text);
		json_decref(e->detail);
		e->detail = NULL;
	}
}

/* Crockford base32 (no I, L, O, U), as the server's refs. */
static void
ticket_ref(uint64_t id, int64_t at, char out[32])
{
	static const char digits[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
	uint64_t n = permute(id, 1ULL << 30, KEY_REF);
	time_t sec = (time_t)(at / 1000);
	struct tm tm;
	int off;

	gmtime_r(&sec, &tm);
	off = snprintf(out, 32, "T%02d%02d%02d-", tm.tm_year % 100, tm.tm_mon + 1, tm.tm_mday);
	for (int i = 0; i < 6; i++)
		out[off + i] = digits[(n >> (25 - 5 * i)) & 31];
	out[off + 6] = '\0';
}

/* SLA due times: set while a clock runs (NULL once it stopped or paused). */
static void
ticket_dues(const struct gticket *t, const struct gpath *p, int64_t *first, int64_t *resolution)
{
	static const int64_t res_h[NKINDS] = {48, 72, 48, 72};
	int64_t hours = t->kind == K_COMPLAINT ? (t->severity == 1   ? 24
	                                          : t->severity == 2 ? 48
	                                                             : 72)
	                                       : res_h[t->kind];

	*first = p->state <= S_OFFERED ? t->at + (t->kind == K_COMPLAINT ? 1 : 4) * HOUR_MS : 0;
	*resolution = p->state <= S_IN_PROGRESS ? t->at + hours * HOUR_MS : 0;
}

static void
ticket_row(struct gen *g, const struct gticket *t, const struct gcust *c, int site, unsigned queue,
           const struct gpath *p, const unsigned char head[AUDIT_HASH_LEN])
{
	struct inserts *w = &g->c->t[T_TICKETS];
	int64_t first_due, res_due;
	char ref[32];

	ticket_ref(t->id, t->at, ref);
	ticket_dues(t, p, &first_due, &res_due);
	ins_row_begin(w, T_TICKETS);
	v_u64(w, t->id);
	v_str(w, ref);
	v_str(w, kind_names[t->kind]);
	v_str(w, channel_names[t->channel]);
	v_id(w, (uint64_t)t->severity);
	v_u64(w, (uint64_t)t->priority);
	v_str(w, state_names[p->state]);
	v_str(w, t->subject);
	v_str(w, c->english ? "en" : "zh-CN");
	v_u64(w, c->id);
	v_id(w, t->order >= 0 ? g->oref[t->order].id : 0);
	v_u64(w, g->site_id[c->site]);
	v_id(w, p->queue ? queue : 0);
	v_id(w, p->owner >= 0 ? g->agents[p->owner].id : 0);
	v_u64(w, g->site_id[site]);
	v_u64(w, (uint64_t)p->version);
	v_u64(w, (uint64_t)p->escalation);
	v_time(w, p->enqueued_at);
	v_time(w, first_due);
	v_time(w, res_due);
	v_time(w, p->first_response);
	v_time(w, p->resolved_at);
	v_time(w, p->closed_at);
	v_u64(w, (uint64_t)p->reopen);
	v_str(w, p->res ? p->res->code : NULL);
	v_str(w, p->res ? (c->english ? p->res->summary_en : p->res->summary_zh) : NULL);
	v_u64(w, (uint64_t)p->n);
	v_hash(w, head);
	v_time(w, t->at);
	v_time(w, p->last_at);
	ins_row_end(w);
}

/* A compensation after a complaint or a return. Approval follows the
 * starting limits of schema 002: an agent approves coupons up to 20.00,
 * gifts up to 50.00 and apology letters; anything else goes to a lead. */
static void
ticket_compensation(struct gen *g, const struct gticket *t, const struct gcust *c, int site,
                    const struct gpath *p)
{
	static const int64_t coupons[] = {500, 1000, 2000, 3000, 5000};
	static const int64_t gifts[] = {2000, 5000, 10000, 20000};
	static const double complaint_w[] = {25, 45, 15, 15}; /* refund coupon gift apology */
	static const char *const prefixes[] = {"RF", "CP", "GF", "AL", "EX"};
	static const char *const kinds[] = {"refund", "coupon", "gift", "apology_letter",
	                                    "exchange"};
	static const double settled_w[] = {0, 0, 15, 85}, open_w[] = {40, 30, 10, 20};
	struct inserts *w = &g->c->t[T_COMPENSATIONS];
	struct rng *r = &g->rng;
	int64_t amount = 0, order_amount = t->order >= 0 ? g->oref[t->order].amount : 0;
	int64_t requested, decided = 0, issued = 0;
	int kind, state, within;
	uint64_t id, requester, approver = 0;
	char ext[32];

	if (p->accept_at == 0 || p->owner < 0)
		return;
	requester = g->agents[p->owner].id;
	if (t->kind == K_RETURN) {
		if (order_amount == 0 || !rng_chance(r, 0.45))
			return;
		kind = rng_chance(r, 0.7) ? 0 : 4;
	} else if (t->kind == K_COMPLAINT && rng_chance(r, 0.35)) {
		kind = (int)rng_weighted(r, complaint_w, NELEM(complaint_w));
		if (kind == 0 && order_amount == 0)
			kind = 1;
	} else {
		return;
	}
	switch (kind) {
	case 0:
		amount = rng_chance(r, 0.8) ? order_amount : order_amount * rng_range(r, 3, 6) / 10;
		break;
	case 1:
		amount = PICK(r, coupons);
		break;
	case 2:
		amount = PICK(r, gifts);
		break;
	case 3:
		amount = 0;
		break;
	default:
		amount = order_amount;
		break;
	}
	within = kind == 3 || (kind == 1 && amount <= 2000) || (kind == 2 && amount <= 5000);
	/* requested, approved, rejected, issued */
	state = (int)rng_weighted(r, p->state >= S_RESOLVED ? settled_w : open_w, 4);
	if (within && state == 2)
		state = 3; /* nobody refuses what they may grant themselves */
	requested = after(g, p->accept_at, rng_range(r, 5 * MIN_MS, HOUR_MS));
	if (state > 0) {
		decided = after(g, requested, within ? 0 : rng_range(r, 5 * MIN_MS, 4 * HOUR_MS));
		approver = within ? requester : g->agents[pick_lead(g, site)].id;
	}
	if (state == 3)
		issued = after(g, decided, rng_range(r, MIN_MS, 2 * HOUR_MS));
	id = g->next_id[T_COMPENSATIONS]++;
	snprintf(ext, sizeof ext, "%s%012" PRIu64, prefixes[kind],
	         permute(id, 1000000000000ULL, KEY_ORDER));
	ins_row_begin(w, T_COMPENSATIONS);
	v_u64(w, id);
	v_u64(w, t->id);
	v_u64(w, c->id);
	v_id(w, t->order >= 0 ? g->oref[t->order].id : 0);
	v_str(w, kinds[kind]);
	v_u64(w, (uint64_t)amount);
	v_str(w, "CNY");
	v_str(w, state == 0   ? "requested"
	         : state == 1 ? "approved"
	         : state == 2 ? "rejected"
	                      : "issued");
	v_str(w, PICK(r, comp_reasons_zh));
	v_u64(w, requester);
	v_time(w, requested);
	v_id(w, approver);
	v_time(w, decided);
	v_str(w, state == 2 ? (rng_chance(r, 0.5) ? "超出补偿标准" : "证据不足") : NULL);
	v_time(w, issued);
	v_str(w, state == 3 ? ext : NULL);
	v_u64(w, (uint64_t)(1 + (state > 0) + (state == 3)));
	ins_row_end(w);
}

/* A satisfaction rating after resolution; complaints rate lower. */
static void
ticket_csat(struct gen *g, const struct gticket *t, const struct gpath *p)
{
	static const double usual[] = {3, 4, 8, 25, 60}, complaint[] = {15, 15, 20, 25, 25};
	struct inserts *w = &g->c->t[T_CSAT];
	struct rng *r = &g->rng;
	int score;

	if (p->resolved_at == 0 || p->owner < 0 ||
	    !rng_chance(r, t->kind == K_COMPLAINT ? 0.4 : 0.28))
		return;
	score = 1 + (int)rng_weighted(r, t->kind == K_COMPLAINT ? complaint : usual, 5);
	ins_row_begin(w, T_CSAT);
	v_u64(w, g->next_id[T_CSAT]++);
	v_u64(w, t->id);
	v_u64(w, (uint64_t)p->reopen);
	v_u64(w, (uint64_t)score);
	if (rng_chance(r, 0.35))
		v_str(w, score >= 4 ? PICK(r, csat_comments_good) : PICK(r, csat_comments_bad));
	else
		v_null(w);
	v_u64(w, g->agents[p->owner].id);
	v_time(w, after(g, p->resolved_at, rng_range(r, MIN_MS, 2 * DAY_MS)));
	ins_row_end(w);
}

/* A check after a resolved complaint, or a call-back of a ticket waiting
 * for the customer; done when it fell due before the end. */
static void
ticket_followup(struct gen *g, const struct gticket *t, const struct gcust *c,
                const struct gpath *p)
{
	static const char *const outcomes[] = {"reached", "no_answer", "declined"};
	static const double outcome_w[] = {75, 20, 5};
	static const char *const outcome_notes[] = {"客户表示满意", "无人接听，稍后再试",
	                                            "客户拒绝回访"};
	struct inserts *w = &g->c->t[T_FOLLOWUPS];
	struct rng *r = &g->rng;
	const char *purpose;
	int64_t created, due, done = 0;
	size_t outcome = 0;

	if (p->owner < 0)
		return;
	if (t->kind == K_COMPLAINT && p->resolved_at && rng_chance(r, 0.5)) {
		purpose = "complaint_check";
		created = p->resolved_at;
		due = created + 3 * DAY_MS;
	} else if (p->state == S_PENDING && rng_chance(r, 0.4)) {
		purpose = "callback";
		created = p->hold_at;
		due = created + DAY_MS;
	} else {
		return;
	}
	if (due < g->o.end_ms) {
		done = after(g, due, rng_range(r, 0, 4 * HOUR_MS));
		outcome = rng_weighted(r, outcome_w, NELEM(outcome_w));
	}
	ins_row_begin(w, T_FOLLOWUPS);
	v_u64(w, g->next_id[T_FOLLOWUPS]++);
	v_u64(w, c->id);
	v_u64(w, t->id);
	v_str(w, purpose);
	v_time(w, due);
	v_u64(w, g->agents[p->owner].id);
	v_u64(w, g->agents[p->owner].id);
	v_time(w, created);
	v_time(w, done);
	v_str(w, done ? outcomes[outcome] : NULL);
	v_str(w, done ? outcome_notes[outcome] : NULL);
	ins_row_end(w);
}

static int
cmp_ticket(const void *a, const void *b)
{
	const struct gticket *x = a, *y = b;

	if (x->at != y->at)
		return x->at < y->at ? -1 : 1;
	return x->orig < y->orig ? -1 : x->orig > y->orig;
}

static void
ticket_generate(struct gen *g, struct gticket *t)
{
	const struct gcust *c = &g->cust[t->cust];
	int site = c->english ? SITE_SH : c->site; /* English is served in Shanghai */
	const char *qcode;
	unsigned queue = ticket_queue(g, t, c, &qcode);
	unsigned char head[AUDIT_HASH_LEN];
	struct gpath p;

	t->id = g->next_id[T_TICKETS]++;
	ticket_plan(g, t, c, site, qcode, &p);
	path_finish(g, t, &p);
	events_write(g, t->id, &p, head);
	ticket_row(g, t, c, site, queue, &p, head);
	ticket_compensation(g, t, c, site, &p);
	ticket_csat(g, t, &p);
	ticket_followup(g, t, c, &p);
}

/* A larger block for an array of need elements of size bytes (p may be
 * NULL); *cap is its capacity. */
static void *
grow(void *p, size_t *cap, size_t need, size_t size)
{
	if (need <= *cap)
		return p;
	*cap = need * 2;
	if ((p = realloc(p, *cap * size)) == NULL)
		die("out of memory");
	return p;
}

/* Generate the next n customers and everything of theirs into g->c. Rows
 * are drawn per customer, then orders and tickets are numbered in time
 * order across the chunk, so one customer's rows are spread over the
 * tables as a real history's would be. */
static void
chunk_generate(struct gen *g, size_t n)
{
	unsigned *ocount = xcalloc(n, sizeof *ocount), *tcount = xcalloc(n, sizeof *tcount);
	size_t nord = 0, ntix = 0;

	for (size_t i = 0; i < n; i++)
		customer_draw(g, &g->cust[i], i > 0 ? &g->cust[i - 1] : NULL);
	apportion(g->cust, n, 0, (uint64_t)ORDERS_PER_CUSTOMER * n, ocount);
	apportion(g->cust, n, 1, (uint64_t)TICKETS_PER_CUSTOMER * n, tcount);
	for (size_t i = 0; i < n; i++) {
		nord += ocount[i];
		ntix += tcount[i];
	}
	g->ord = grow(g->ord, &g->ord_cap, nord, sizeof *g->ord);
	g->oref = grow(g->oref, &g->oref_cap, nord, sizeof *g->oref);
	g->tix = grow(g->tix, &g->tix_cap, ntix, sizeof *g->tix);
	for (size_t i = 0, k = 0; i < n; i++) {
		struct gcust *c = &g->cust[i];
		c->order0 = k;
		c->norders = ocount[i];
		for (unsigned j = 0; j < c->norders; j++, k++) {
			g->ord[k].orig = k;
			order_draw(g, c, i, &g->ord[k]);
		}
	}
	for (size_t i = 0, k = 0; i < n; i++)
		for (unsigned j = 0; j < tcount[i]; j++, k++) {
			g->tix[k].orig = k;
			ticket_draw(g, &g->cust[i], i, &g->tix[k]);
		}
	for (size_t i = 0; i < n; i++) {
		customer_write(g, &g->cust[i]);
		contacts_write(g, &g->cust[i]);
		if (rng_chance(&g->rng, 0.005))
			customer_followup(g, &g->cust[i]);
	}
	qsort(g->ord, nord, sizeof *g->ord, cmp_order);
	for (size_t k = 0; k < nord; k++) {
		struct gorder *o = &g->ord[k];
		o->id = g->next_id[T_ORDERS]++;
		g->oref[o->orig].id = o->id;
		g->oref[o->orig].amount = o->amount;
		order_write(g, o);
	}
	qsort(g->tix, ntix, sizeof *g->tix, cmp_ticket);
	for (size_t k = 0; k < ntix; k++)
		ticket_generate(g, &g->tix[k]);
	free(ocount);
	free(tcount);
}

/* ---- the database ------------------------------------------------------- */

static MYSQL *
db_open(const struct db_options *o)
{
	struct db_params p = {.host = o->host,
	                      .port = o->port,
	                      .socket = o->socket,
	                      .user = o->user,
	                      .password = o->password,
	                      .name = o->name,
	                      .connect_timeout = 10};
	char err[512];
	MYSQL *m = db_connect(&p, err, sizeof err);

	if (m == NULL)
		die("cannot connect to the database: %s", err);
	return m;
}

static void sql_exec(MYSQL *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
sql_exec(MYSQL *m, const char *fmt, ...)
{
	struct sbuf b = {0};
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	sb_reserve(&b, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(b.p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	if (mysql_real_query(m, b.p, (unsigned long)n) != 0)
		die("%s\n  in: %.300s", mysql_error(m), b.p);
	free(b.p);
}

/* The rows of a query; the caller frees with mysql_free_result. */
static MYSQL_RES *
sql_rows(MYSQL *m, const char *query)
{
	MYSQL_RES *res;

	if (mysql_query(m, query) != 0 || (res = mysql_store_result(m)) == NULL)
		die("%s\n  in: %.300s", mysql_error(m), query);
	return res;
}

/* The first column of the first row as a number (0 for NULL or none). */
static uint64_t
sql_u64(MYSQL *m, const char *query)
{
	MYSQL_RES *res = sql_rows(m, query);
	MYSQL_ROW row = mysql_fetch_row(res);
	uint64_t v = row && row[0] ? strtoull(row[0], NULL, 10) : 0;

	mysql_free_result(res);
	return v;
}

static uint64_t
table_count(MYSQL *m, enum table t)
{
	char q[128];

	snprintf(q, sizeof q, "SELECT COUNT(*) FROM %s", tables[t].name);
	return sql_u64(m, q);
}

/* Sites and queues of the demo set-up (deploy/up), made when missing, as
 * of the start of the history (a time stamp of now would differ between
 * runs). */
static void
setup_sites(struct gen *g, MYSQL *m)
{
	char q[256], since[48];

	fmt_time(g->start_ms, since);
	for (int s = 0; s < NSITES; s++) {
		sql_exec(
		    m,
		    "INSERT INTO sites (code, name, time_zone, created_at) VALUES ('%s', '%s', "
		    "'Asia/Shanghai', '%s') ON DUPLICATE KEY UPDATE id = id",
		    site_defs[s].code, site_defs[s].name, since);
		snprintf(q, sizeof q, "SELECT id FROM sites WHERE code = '%s'", site_defs[s].code);
		g->site_id[s] = (unsigned)sql_u64(m, q);
	}
	for (int s = 0; s < NSITES + 3; s++) {
		static const char *const codes[] = {"gz.service", "sh.service", "cd.service",
		                                    "en.service", "refunds",    "complaints"};
		static const char *const names[] = {
		    "Guangzhou customer service", "Shanghai customer service",
		    "Chengdu customer service",   "English customer service",
		    "Returns and refunds",        "Complaints"};
		char site[16] = "NULL";
		unsigned id;
		if (s < NSITES || s == NSITES)
			snprintf(site, sizeof site, "%u", g->site_id[s < NSITES ? s : SITE_SH]);
		sql_exec(
		    m,
		    "INSERT INTO queues (code, name, site_id, created_at) VALUES ('%s', '%s', %s, "
		    "'%s') ON DUPLICATE KEY UPDATE id = id",
		    codes[s], names[s], site, since);
		snprintf(q, sizeof q, "SELECT id FROM queues WHERE code = '%s'", codes[s]);
		id = (unsigned)sql_u64(m, q);
		if (s < NSITES)
			g->queue_service[s] = id;
		else if (s == NSITES)
			g->queue_en = id;
		else if (s == NSITES + 1)
			g->queue_refunds = id;
		else
			g->queue_complaints = id;
	}
}

/* The password hash of agents ccgen makes: the given one, or that of a
 * random password nobody knows. */
static void
agent_hash(const struct gen *g, char *out, size_t outlen)
{
	static const struct scrypt_params params = {14, 8, 1};
	unsigned char raw[24];
	char pw[64];

	if (g->o.agent_hash) {
		snprintf(out, outlen, "%s", g->o.agent_hash);
		return;
	}
	if (RAND_bytes(raw, sizeof raw) != 1)
		die("RAND_bytes failed");
	for (size_t i = 0; i < sizeof raw; i++)
		snprintf(pw + 2 * i, 3, "%02x", raw[i]);
	if (auth_hash_password(pw, strlen(pw), &params, out, outlen) != 0)
		die("cannot hash a password");
	OPENSSL_cleanse(pw, sizeof pw);
}

/* Staff "gz.staff001".. and leads (supervisors) "gz.lead01".. of each site,
 * made when missing; their display names come from a stream of their own,
 * so making them or not does not change the customers. */
static void
setup_agents(struct gen *g, MYSQL *m)
{
	unsigned nleads = g->o.agents_per_site / 20 ? g->o.agents_per_site / 20 : 1;
	struct rng names;
	struct sbuf sql = {0};
	char hash[AUTH_HASH_MAX + 1], name[64], mail[48], since[48];
	MYSQL_RES *res;
	MYSQL_ROW row;

	fmt_time(g->start_ms, since);
	rng_seed(&names, mix64(g->o.seed ^ 0x6167656e7473ULL));
	agent_hash(g, hash, sizeof hash);
	for (int s = 0; s < NSITES; s++) {
		sb_puts(&sql, "INSERT INTO agents (username, display_name, role, site_id, "
		              "password_hash, created_at) VALUES ");
		for (unsigned i = 0; i < g->o.agents_per_site + nleads; i++) {
			int lead = i >= g->o.agents_per_site;
			char user[65];
			if (lead)
				snprintf(user, sizeof user, "%s.lead%02u", site_defs[s].lower,
				         i - g->o.agents_per_site + 1);
			else
				snprintf(user, sizeof user, "%s.staff%03u", site_defs[s].lower,
				         i + 1);
			draw_name(&names, 0, name, sizeof name, mail, sizeof mail);
			sb_printf(&sql, "%s('%s', ", i ? "," : "", user);
			sb_quote(&sql, name);
			sb_printf(&sql, ", '%s', %u, ", lead ? "supervisor" : "agent",
			          g->site_id[s]);
			sb_quote(&sql, hash);
			sb_printf(&sql, ", '%s')", since);
		}
		sb_puts(&sql, " ON DUPLICATE KEY UPDATE id = id");
		if (mysql_real_query(m, sql.p, (unsigned long)sql.len) != 0)
			die("cannot add agents: %s", mysql_error(m));
		sql.len = 0;
	}
	free(sql.p);
	res = sql_rows(m, "SELECT a.id, a.username, a.role, s.code FROM agents a "
	                  "JOIN sites s ON s.id = a.site_id WHERE a.active = 1 AND "
	                  "a.username REGEXP '^(gz|sh|cd)[.](staff|lead)[0-9]+$' ORDER BY a.id");
	g->agents = xcalloc(mysql_num_rows(res), sizeof *g->agents);
	for (int s = 0; s < NSITES; s++) {
		g->staff[s] = xcalloc(mysql_num_rows(res), sizeof(size_t));
		g->leads[s] = xcalloc(mysql_num_rows(res), sizeof(size_t));
	}
	while ((row = mysql_fetch_row(res)) != NULL) {
		struct agent *a = &g->agents[g->nagents];
		a->id = (uint32_t)strtoul(row[0], NULL, 10);
		snprintf(a->user, sizeof a->user, "%s", row[1]);
		a->supervisor = strcmp(row[2], "agent") != 0;
		for (a->site = 0; a->site < NSITES; a->site++)
			if (strcmp(row[3], site_defs[a->site].code) == 0)
				break;
		if (a->site == NSITES)
			continue; /* renamed into another site's pattern: not ours */
		if (a->supervisor)
			g->leads[a->site][g->nleads[a->site]++] = g->nagents;
		else
			g->staff[a->site][g->nstaff[a->site]++] = g->nagents;
		g->nagents++;
	}
	mysql_free_result(res);
	for (int s = 0; s < NSITES; s++)
		if (g->nstaff[s] == 0 || g->nleads[s] == 0)
			die("no active staff or lead agents of site %s", site_defs[s].code);
}

/* Empty the tables ccgen fills (--force). Refuses when another table
 * points into them: emptying would leave its rows dangling. */
static void
empty_tables(MYSQL *m)
{
	static const char *const list = "'customers', 'customer_contacts', 'orders', 'tickets', "
	                                "'ticket_links', 'ticket_events', 'ticket_notes', "
	                                "'ticket_sla_clocks', 'compensations', 'csat', 'followups'";
	static const char *const order[] = {"followups",         "csat",         "compensations",
	                                    "ticket_sla_clocks", "ticket_notes", "ticket_events",
	                                    "ticket_links",      "tickets",      "orders",
	                                    "customer_contacts", "customers"};
	struct sbuf q = {0};
	MYSQL_RES *res;
	MYSQL_ROW row;

	sb_printf(&q,
	          "SELECT DISTINCT TABLE_NAME FROM information_schema.KEY_COLUMN_USAGE "
	          "WHERE TABLE_SCHEMA = DATABASE() AND REFERENCED_TABLE_SCHEMA = DATABASE() "
	          "AND REFERENCED_TABLE_NAME IN (%s) AND TABLE_NAME NOT IN (%s)",
	          list, list);
	res = sql_rows(m, q.p);
	free(q.p);
	if ((row = mysql_fetch_row(res)) != NULL)
		die("--force: table %s refers to customers or tickets; empty it first", row[0]);
	mysql_free_result(res);
	sql_exec(m, "SET SESSION foreign_key_checks = 0");
	for (size_t i = 0; i < NELEM(order); i++)
		sql_exec(m, "TRUNCATE TABLE %s", order[i]);
	sql_exec(m, "SET SESSION foreign_key_checks = 1");
}

/* ---- loading ------------------------------------------------------------ */

static struct {
	pthread_mutex_t lock;
	pthread_cond_t can_push, can_pop, progress;
	struct chunk *head, *tail;
	size_t len, max;
	int closed, done;
	const struct db_options *db;
	atomic_ullong rows, customers, chunks, retries;
	atomic_int failed;
	char error[1024];
} L = {.lock = PTHREAD_MUTEX_INITIALIZER,
       .can_push = PTHREAD_COND_INITIALIZER,
       .can_pop = PTHREAD_COND_INITIALIZER,
       .progress = PTHREAD_COND_INITIALIZER};

/* Hand a chunk to the loaders; blocks while the queue is full. -1 after a
 * loader failed. */
static int
queue_push(struct chunk *c)
{
	pthread_mutex_lock(&L.lock);
	while (L.len >= L.max && !atomic_load(&L.failed))
		pthread_cond_wait(&L.can_push, &L.lock);
	if (atomic_load(&L.failed)) {
		pthread_mutex_unlock(&L.lock);
		return -1;
	}
	if (L.tail)
		L.tail->next = c;
	else
		L.head = c;
	L.tail = c;
	L.len++;
	pthread_cond_signal(&L.can_pop);
	pthread_mutex_unlock(&L.lock);
	return 0;
}

static struct chunk *
queue_pop(void)
{
	struct chunk *c;

	pthread_mutex_lock(&L.lock);
	while (L.head == NULL && !L.closed && !atomic_load(&L.failed))
		pthread_cond_wait(&L.can_pop, &L.lock);
	c = atomic_load(&L.failed) ? NULL : L.head;
	if (c) {
		L.head = c->next;
		if (L.head == NULL)
			L.tail = NULL;
		L.len--;
		pthread_cond_signal(&L.can_push);
	}
	pthread_mutex_unlock(&L.lock);
	return c;
}

static void load_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
load_fail(const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&L.lock);
	if (!atomic_load(&L.failed)) {
		va_start(ap, fmt);
		vsnprintf(L.error, sizeof L.error, fmt, ap);
		va_end(ap);
		atomic_store(&L.failed, 1);
	}
	pthread_cond_broadcast(&L.can_push);
	pthread_cond_broadcast(&L.can_pop);
	pthread_cond_broadcast(&L.progress);
	pthread_mutex_unlock(&L.lock);
}

static void
chunk_free(struct chunk *c)
{
	for (int t = 0; t < T__COUNT; t++)
		ins_free(&c->t[t]);
	free(c);
}

/* Run a chunk in one transaction: 0, or -1 with *errno_out set. */
static int
chunk_load(MYSQL *m, const struct chunk *c, unsigned *errno_out, char *err, size_t errlen)
{
	int t = -1;

	if (mysql_query(m, "START TRANSACTION") != 0)
		goto fail;
	for (t = 0; t < T__COUNT; t++) {
		const struct inserts *x = &c->t[t];
		for (size_t i = 0; i < x->nstmt; i++)
			if (mysql_real_query(m, x->sql.p + x->off[i],
			                     (unsigned long)(x->off[i + 1] - x->off[i])) != 0)
				goto fail;
	}
	t = -1;
	if (mysql_query(m, "COMMIT") != 0)
		goto fail;
	return 0;
fail:
	*errno_out = mysql_errno(m);
	snprintf(err, errlen, "%s%s: %s", t >= 0 ? "inserting into " : "",
	         t >= 0 ? tables[t].name : "transaction", mysql_error(m));
	mysql_query(m, "ROLLBACK");
	return -1;
}

static void *
loader_main(void *arg)
{
	MYSQL *m;
	struct chunk *c;
	char err[768];

	(void)arg;
	mysql_thread_init();
	m = db_open(L.db);
	while ((c = queue_pop()) != NULL) {
		unsigned long long rows = 0;
		unsigned e = 0;
		int attempt;
		for (attempt = 0; attempt < CHUNK_RETRIES; attempt++) {
			if (chunk_load(m, c, &e, err, sizeof err) == 0)
				break;
			if (e != ER_LOCK_DEADLOCK && e != ER_LOCK_WAIT_TIMEOUT)
				break;
			atomic_fetch_add(&L.retries, 1);
		}
		if (e != 0 && (attempt == CHUNK_RETRIES ||
		               (e != ER_LOCK_DEADLOCK && e != ER_LOCK_WAIT_TIMEOUT))) {
			load_fail("chunk %zu: %s (error %u)", c->index, err, e);
			chunk_free(c);
			break;
		}
		for (int t = 0; t < T__COUNT; t++)
			rows += c->t[t].rows;
		atomic_fetch_add(&L.rows, rows);
		atomic_fetch_add(&L.customers, c->customers);
		atomic_fetch_add(&L.chunks, 1);
		chunk_free(c);
	}
	mysql_close(m);
	mysql_thread_end();
	return NULL;
}

/* Progress on standard error every few seconds until the load is done. */
static void *
progress_main(void *arg)
{
	const struct gen *g = arg;
	double t0 = now_seconds();
	struct timespec until;

	pthread_mutex_lock(&L.lock);
	while (!L.done && !atomic_load(&L.failed)) {
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += (time_t)PROGRESS_SECONDS;
		if (pthread_cond_timedwait(&L.progress, &L.lock, &until) == ETIMEDOUT) {
			double s = now_seconds() - t0;
			unsigned long long rows = atomic_load(&L.rows),
			                   done = atomic_load(&L.customers);
			double left = done ? s * (double)(g->o.customers - done) / (double)done : 0;
			fprintf(stderr,
			        "ccgen: %llu of %" PRIu64 " customers, %llu rows in %.0f s "
			        "(%.0f rows/s), about %.0f s to go\n",
			        done, g->o.customers, rows, s, (double)rows / s, left);
		}
	}
	pthread_mutex_unlock(&L.lock);
	return NULL;
}

/* ---- ccgen generate ----------------------------------------------------- */

static void
read_password(struct db_options *o)
{
	FILE *f;
	size_t n;

	o->password[0] = '\0';
	if (o->password_file == NULL)
		return;
	if ((f = fopen(o->password_file, "r")) == NULL)
		die("%s: %s", o->password_file, strerror(errno));
	if (fgets(o->password, sizeof o->password, f) == NULL)
		o->password[0] = '\0';
	fclose(f);
	n = strcspn(o->password, "\r\n");
	o->password[n] = '\0';
}

/* Refuse a database with customers unless told what to do with them. */
static void
guard(struct gen *g, MYSQL *m)
{
	uint64_t have = sql_u64(m, "SELECT COUNT(*) FROM customers");

	if (have == 0)
		return;
	if (g->o.force) {
		fprintf(stderr,
		        "ccgen: --force: emptying customers, orders, tickets and their "
		        "history (%" PRIu64 " customers)\n",
		        have);
		empty_tables(m);
		return;
	}
	if (g->o.append) {
		fprintf(stderr, "ccgen: --append: adding after the %" PRIu64 " customers there\n",
		        have);
		return;
	}
	die("the database already holds %" PRIu64 " customers; nothing written.\n"
	    "  --append adds %" PRIu64 " more customers and their history after them (new ids);\n"
	    "  --force first deletes every customer, contact, order and ticket with its\n"
	    "  events, notes, links, SLA clocks, compensations, CSAT and follow-ups",
	    have, g->o.customers);
}

/* The next id of every table: one past the highest there. */
static void
first_ids(struct gen *g, MYSQL *m)
{
	char q[128];

	for (int t = 0; t < T__COUNT; t++) {
		snprintf(q, sizeof q, "SELECT COALESCE(MAX(id), 0) + 1 FROM %s", tables[t].name);
		g->next_id[t] = sql_u64(m, q);
	}
	if (g->next_id[T_CUSTOMERS] + g->o.customers > 80000000)
		die("customer ids would pass 80,000,000: the phone and e-mail numbering is made "
		    "for fewer");
}

static void
generate_run(struct gen *g)
{
	pthread_t *loaders = xcalloc(g->o.connections, sizeof *loaders), progress;
	uint64_t left = g->o.customers;
	size_t index = 0;

	L.max = g->o.connections + 1;
	L.db = &g->o.db;
	for (unsigned i = 0; i < g->o.connections; i++)
		if (pthread_create(&loaders[i], NULL, loader_main, NULL) != 0)
			die("cannot start a loader thread");
	if (pthread_create(&progress, NULL, progress_main, g) != 0)
		die("cannot start the progress thread");
	g->cust = xcalloc(g->o.chunk, sizeof *g->cust);
	while (left > 0 && !atomic_load(&L.failed)) {
		size_t n = left < g->o.chunk ? (size_t)left : g->o.chunk;
		struct chunk *c = xcalloc(1, sizeof *c);
		c->index = index++;
		c->customers = n;
		for (int t = 0; t < T__COUNT; t++)
			c->t[t].rows_per_max = g->o.batch;
		g->c = c;
		chunk_generate(g, n);
		for (int t = 0; t < T__COUNT; t++) {
			ins_close(&c->t[t]);
			g->rows[t] += c->t[t].rows;
		}
		g->c = NULL;
		if (queue_push(c) != 0) {
			chunk_free(c);
			break;
		}
		left -= n;
	}
	pthread_mutex_lock(&L.lock);
	L.closed = 1;
	pthread_cond_broadcast(&L.can_pop);
	pthread_mutex_unlock(&L.lock);
	for (unsigned i = 0; i < g->o.connections; i++)
		pthread_join(loaders[i], NULL);
	pthread_mutex_lock(&L.lock);
	L.done = 1;
	pthread_cond_broadcast(&L.progress);
	pthread_mutex_unlock(&L.lock);
	pthread_join(progress, NULL);
	free(loaders);
}

/* The rows in the database must be those before plus those generated. */
static int
verify_counts(struct gen *g, MYSQL *m, const uint64_t before[T__COUNT])
{
	int ok = 1;

	for (int t = 0; t < T__COUNT; t++) {
		uint64_t have = table_count(m, (enum table)t), want = before[t] + g->rows[t];
		if (have != want) {
			fprintf(stderr, "ccgen: %s holds %" PRIu64 " rows, expected %" PRIu64 "\n",
			        tables[t].name, have, want);
			ok = 0;
		}
	}
	return ok;
}

static void
generate_report(const struct gen *g, double seconds, int counts_ok)
{
	uint64_t total = 0;
	char end[48];

	fmt_time(g->o.end_ms, end);
	for (int t = 0; t < T__COUNT; t++) {
		printf("rows.%s=%" PRIu64 "\n", tables[t].name, g->rows[t]);
		total += g->rows[t];
	}
	printf("rows_total=%" PRIu64 "\n", total);
	printf("events_per_ticket=%.3f\n",
	       g->rows[T_TICKETS] ? (double)g->rows[T_EVENTS] / (double)g->rows[T_TICKETS] : 0);
	printf("seconds=%.1f\n", seconds);
	printf("rows_per_second=%.0f\n", (double)total / seconds);
	printf("customers_per_second=%.0f\n", (double)g->rows[T_CUSTOMERS] / seconds);
	/* generating, hashing and sending the SQL; the rest is the server's */
	printf("generator_cpu_seconds=%.1f\n", cpu_seconds());
	printf("connections=%u\n", g->o.connections);
	printf("chunk_customers=%u\n", g->o.chunk);
	printf("rows_per_statement=%u\n", g->o.batch);
	printf("deadlock_retries=%llu\n", (unsigned long long)atomic_load(&L.retries));
	printf("seed=%" PRIu64 "\n", g->o.seed);
	printf("history_end=%.10s\n", end);
	printf("first_customer_id=%" PRIu64 "\n", g->next_id[T_CUSTOMERS] - g->rows[T_CUSTOMERS]);
	printf("last_customer_id=%" PRIu64 "\n", g->next_id[T_CUSTOMERS] - 1);
	printf("check.counts=%s\n", counts_ok ? "ok" : "FAILED");
}

static void
generate_usage(FILE *f)
{
	fprintf(
	    f, "usage: ccgen generate [options]\n"
	       "  database (as callcentred's [database]):\n"
	       "  --socket PATH | --host H [--port P]   where MariaDB listens\n"
	       "  --user U  --password-file F  --database NAME (default callcentre)\n"
	       "  data:\n"
	       "  --customers N        customers (default 1000000); 5N orders, 2N tickets,\n"
	       "                       about 10N events\n"
	       "  --seed S             the random stream (default 1)\n"
	       "  --end YYYY-MM-DD     the history ends at this UTC midnight (default 2025-06-01)\n"
	       "  --years Y            and starts Y years before it (default 3)\n"
	       "  --agents-per-site A  staff agents per site, plus one lead per 20 (default 100)\n"
	       "  --agent-password-hash H  password hash of the agents it makes (default: that\n"
	       "                       of a random password: they cannot log in)\n"
	       "  loading:\n"
	       "  --connections C      loader connections (default 2)\n"
	       "  --chunk K            customers a transaction (default 1000; orders and tickets\n"
	       "                       are numbered in time order within one)\n"
	       "  --batch R            rows an INSERT statement (default 1000)\n"
	       "  a database that already has customers is refused unless:\n"
	       "  --append             add the new customers after those there\n"
	       "  --force              first empty customers, orders, tickets and their history\n");
}

static int64_t
parse_day(const char *s)
{
	struct tm tm = {0};
	char *end = strptime(s, "%Y-%m-%d", &tm);

	if (end == NULL || *end != '\0')
		die("--end: \"%s\" is not YYYY-MM-DD", s);
	return (int64_t)timegm(&tm) * 1000;
}

static uint64_t
parse_count(const char *opt, const char *s, uint64_t min, uint64_t max)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || v < min || v > max)
		die("%s: \"%s\" is not a number from %" PRIu64 " to %" PRIu64, opt, s, min, max);
	return v;
}

enum {
	OPT_SOCKET = 256,
	OPT_HOST,
	OPT_PORT,
	OPT_USER,
	OPT_PASSWORD_FILE,
	OPT_DATABASE,
	OPT_CUSTOMERS,
	OPT_SEED,
	OPT_END,
	OPT_YEARS,
	OPT_AGENTS,
	OPT_AGENT_HASH,
	OPT_CONNECTIONS,
	OPT_CHUNK,
	OPT_BATCH,
	OPT_APPEND,
	OPT_FORCE,
	OPT_CONNECT,
	OPT_SERVERNAME,
	OPT_CA,
	OPT_DIRECT,
	OPT_FIRST_ID,
	OPT_LAST_ID,
	OPT_REQUESTS,
	OPT_WARMUP,
	OPT_CONCURRENCY,
	OPT_LIMIT,
	OPT_PROFILE,
	OPT_ROUNDS,
	OPT_HELP,
};

#define DB_LONG_OPTIONS                                                                            \
	{"socket", required_argument, NULL, OPT_SOCKET},                                           \
	    {"host", required_argument, NULL, OPT_HOST},                                           \
	    {"port", required_argument, NULL, OPT_PORT},                                           \
	    {"user", required_argument, NULL, OPT_USER},                                           \
	    {"password-file", required_argument, NULL, OPT_PASSWORD_FILE},                         \
	    {"database", required_argument, NULL, OPT_DATABASE},                                   \
	    {"seed", required_argument, NULL, OPT_SEED},                                           \
	{                                                                                          \
		"help", no_argument, NULL, OPT_HELP                                                \
	}

/* A database option into o: 1 when opt was one. */
static int
db_option(struct db_options *o, int opt, const char *arg)
{
	switch (opt) {
	case OPT_SOCKET:
		o->socket = arg;
		return 1;
	case OPT_HOST:
		o->host = arg;
		return 1;
	case OPT_PORT:
		o->port = (int)parse_count("--port", arg, 1, 65535);
		return 1;
	case OPT_USER:
		o->user = arg;
		return 1;
	case OPT_PASSWORD_FILE:
		o->password_file = arg;
		return 1;
	case OPT_DATABASE:
		o->name = arg;
		return 1;
	default:
		return 0;
	}
}

static void
generate_options(struct gen_options *o, int argc, char **argv)
{
	static const struct option longopts[] = {
	    DB_LONG_OPTIONS,
	    {"customers", required_argument, NULL, OPT_CUSTOMERS},
	    {"end", required_argument, NULL, OPT_END},
	    {"years", required_argument, NULL, OPT_YEARS},
	    {"agents-per-site", required_argument, NULL, OPT_AGENTS},
	    {"agent-password-hash", required_argument, NULL, OPT_AGENT_HASH},
	    {"connections", required_argument, NULL, OPT_CONNECTIONS},
	    {"chunk", required_argument, NULL, OPT_CHUNK},
	    {"batch", required_argument, NULL, OPT_BATCH},
	    {"append", no_argument, NULL, OPT_APPEND},
	    {"force", no_argument, NULL, OPT_FORCE},
	    {NULL, 0, NULL, 0},
	};
	int opt;

	*o = (struct gen_options){
	    .db = {.host = "127.0.0.1", .port = 3306, .user = "callcentre", .name = "callcentre"},
	    .customers = 1000000,
	    .seed = 1,
	    .end_ms = parse_day("2025-06-01"),
	    .years = 3,
	    .connections = 2,
	    .chunk = 1000,
	    .batch = 1000,
	    .agents_per_site = 100};
	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (db_option(&o->db, opt, optarg))
			continue;
		switch (opt) {
		case OPT_SEED:
			o->seed = parse_count("--seed", optarg, 0, UINT64_MAX);
			break;
		case OPT_CUSTOMERS:
			o->customers = parse_count("--customers", optarg, 1, 50000000);
			break;
		case OPT_END:
			o->end_ms = parse_day(optarg);
			break;
		case OPT_YEARS:
			o->years = (int)parse_count("--years", optarg, 1, 20);
			break;
		case OPT_AGENTS:
			o->agents_per_site =
			    (unsigned)parse_count("--agents-per-site", optarg, 1, 9999);
			break;
		case OPT_AGENT_HASH:
			o->agent_hash = optarg;
			break;
		case OPT_CONNECTIONS:
			o->connections = (unsigned)parse_count("--connections", optarg, 1, 64);
			break;
		case OPT_CHUNK:
			o->chunk = (unsigned)parse_count("--chunk", optarg, 1, 100000);
			break;
		case OPT_BATCH:
			o->batch = (unsigned)parse_count("--batch", optarg, 1, 100000);
			break;
		case OPT_APPEND:
			o->append = 1;
			break;
		case OPT_FORCE:
			o->force = 1;
			break;
		case OPT_HELP:
			generate_usage(stdout);
			exit(0);
		default:
			generate_usage(stderr);
			exit(2);
		}
	}
	if (optind != argc) {
		generate_usage(stderr);
		exit(2);
	}
	if (o->append && o->force)
		die("--append and --force exclude each other");
	read_password(&o->db);
}

static void
gen_free(struct gen *g)
{
	for (int s = 0; s < NSITES; s++) {
		free(g->staff[s]);
		free(g->leads[s]);
	}
	free(g->agents);
	free(g->cust);
	free(g->ord);
	free(g->oref);
	free(g->tix);
}

static int
generate_main(int argc, char **argv)
{
	struct gen g = {0};
	uint64_t before[T__COUNT];
	double t0;
	MYSQL *m;
	int ok;

	generate_options(&g.o, argc, argv);
	rng_seed(&g.rng, g.o.seed);
	g.start_ms = g.o.end_ms - (int64_t)g.o.years * 365 * DAY_MS;
	t0 = now_seconds();
	m = db_open(&g.o.db);
	guard(&g, m);
	setup_sites(&g, m);
	setup_agents(&g, m);
	first_ids(&g, m);
	for (int t = 0; t < T__COUNT; t++)
		before[t] = table_count(m, (enum table)t);
	fprintf(stderr,
	        "ccgen: %" PRIu64 " customers from id %" PRIu64 ", seed %" PRIu64
	        ", %zu agents, %u loader connections\n",
	        g.o.customers, g.next_id[T_CUSTOMERS], g.o.seed, g.nagents, g.o.connections);
	generate_run(&g);
	if (atomic_load(&L.failed)) {
		fprintf(stderr, "ccgen: load failed: %s\n", L.error);
		fprintf(stderr, "ccgen: chunks committed before it stay; rerun with --force\n");
		mysql_close(m);
		gen_free(&g);
		return 1;
	}
	t0 = now_seconds() - t0;
	ok = verify_counts(&g, m, before);
	generate_report(&g, t0, ok);
	mysql_close(m);
	gen_free(&g);
	return ok ? 0 : 1;
}

/* ---- ccgen show --------------------------------------------------------- */

struct show_options {
	struct db_options db;
	char host[256], port[16];
	const char *connect, *servername, *ca, *user, *password_file;
	char password[1024];
	int direct;
	uint64_t first_id, last_id, seed;
	unsigned requests, warmup, concurrency, limit, profile, rounds;
};

struct show {
	struct show_options o;
	SSL_CTX *ctx;
	uint64_t *ids;     /* customer of request i, warm-up first */
	double *latency;   /* ms, of measured request i - warmup */
	size_t *bytes;     /* reply size of measured request i - warmup */
	unsigned *tickets; /* tickets shown */
	atomic_uint next;
	atomic_uint errors, merged;
	pthread_mutex_t lock;
	char first_error[512];
};

static void show_error(struct show *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
show_error(struct show *s, const char *fmt, ...)
{
	va_list ap;

	atomic_fetch_add(&s->errors, 1);
	pthread_mutex_lock(&s->lock);
	if (s->first_error[0] == '\0') {
		va_start(ap, fmt);
		vsnprintf(s->first_error, sizeof s->first_error, fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&s->lock);
}

/* Check a customer 360 view of customer id; record its size. */
static void
show_check(struct show *s, unsigned i, uint64_t id, json_t *view, size_t bytes)
{
	json_t *from = json_object_get(view, "resolved_from");
	json_int_t got =
	    json_integer_value(json_object_get(json_object_get(view, "customer"), "id"));
	json_t *items = json_object_get(json_object_get(view, "tickets"), "items");

	if (json_is_integer(from)) {
		atomic_fetch_add(&s->merged, 1);
		if ((uint64_t)json_integer_value(from) != id)
			show_error(s, "customer %" PRIu64 ": resolved_from is another id", id);
	} else if (got <= 0 || (uint64_t)got != id) {
		show_error(s, "customer %" PRIu64 ": the view is of customer %lld", id,
		           (long long)got);
	}
	if (!json_is_array(items) || !json_is_object(json_object_get(view, "value")))
		show_error(s, "customer %" PRIu64 ": the view lacks tickets or value", id);
	if (i >= s->o.warmup) {
		s->bytes[i - s->o.warmup] = bytes;
		s->tickets[i - s->o.warmup] = (unsigned)json_array_size(items);
	}
}

/* A TLS connection logged in to callcentred. */
struct wire {
	int fd;
	SSL *ssl;
	struct sbuf in;
	size_t used; /* bytes of in already returned */
};

static int
wire_write(struct wire *w, const char *p, size_t n)
{
	while (n > 0) {
		int k = SSL_write(w->ssl, p, (int)n);
		if (k <= 0)
			return -1;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

/* The next line (without its LF, NUL-terminated, valid until the next
 * call), or NULL when the connection failed. */
static char *
wire_line(struct wire *w, size_t *len)
{
	for (;;) {
		char *start = w->in.p + w->used, *lf;
		if (w->in.len > w->used &&
		    (lf = memchr(start, '\n', w->in.len - w->used)) != NULL) {
			*lf = '\0';
			*len = (size_t)(lf - start);
			w->used += *len + 1;
			return start;
		}
		if (w->used > 0) { /* keep the partial line at the front */
			memmove(w->in.p, start, w->in.len - w->used);
			w->in.len -= w->used;
			w->used = 0;
		}
		sb_reserve(&w->in, 65536);
		int k = SSL_read(w->ssl, w->in.p + w->in.len, (int)(w->in.cap - w->in.len - 1));
		if (k <= 0)
			return NULL;
		w->in.len += (size_t)k;
	}
}

/* The reply to request id: the first line with that id; events are
 * skipped. NULL on a failed connection or unreadable reply. */
static json_t *
wire_reply(struct wire *w, json_int_t id, size_t *bytes)
{
	for (;;) {
		size_t len;
		char *line = wire_line(w, &len);
		json_t *msg, *mid;
		if (line == NULL)
			return NULL;
		if ((msg = json_loadb(line, len, 0, NULL)) == NULL)
			return NULL;
		mid = json_object_get(msg, "id");
		if (json_is_integer(mid) && json_integer_value(mid) == id) {
			*bytes = len + 1;
			return msg;
		}
		json_decref(msg);
	}
}

static void
wire_close(struct wire *w)
{
	if (w->ssl) {
		SSL_shutdown(w->ssl);
		SSL_free(w->ssl);
	}
	if (w->fd >= 0)
		close(w->fd);
	free(w->in.p);
}

static int
wire_connect(struct show *s, struct wire *w, char *err, size_t errlen)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai;
	int rc;

	memset(w, 0, sizeof *w);
	w->fd = -1;
	if ((rc = getaddrinfo(s->o.host, s->o.port, &hints, &ai)) != 0) {
		snprintf(err, errlen, "%s: %s", s->o.connect, gai_strerror(rc));
		return -1;
	}
	w->fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
	rc = w->fd >= 0 ? connect(w->fd, ai->ai_addr, ai->ai_addrlen) : -1;
	freeaddrinfo(ai);
	if (rc != 0) {
		snprintf(err, errlen, "connect %s: %s", s->o.connect, strerror(errno));
		return -1;
	}
	if ((w->ssl = SSL_new(s->ctx)) == NULL ||
	    tls_client_set_host(w->ssl, s->o.servername) != 0 || SSL_set_fd(w->ssl, w->fd) != 1 ||
	    SSL_connect(w->ssl) != 1) {
		char tls[256];
		snprintf(err, errlen, "TLS with %s: %s", s->o.connect,
		         tls_error_string(tls, sizeof tls));
		return -1;
	}
	return 0;
}

static int
wire_login(struct show *s, struct wire *w, char *err, size_t errlen)
{
	json_t *req = json_pack("{s:i,s:s,s:s,s:s}", "id", 1, "op", "login", "user", s->o.user,
	                        "password", s->o.password);
	char *line = json_dumps(req, JSON_COMPACT);
	size_t bytes;
	json_t *reply;
	int rc;

	json_decref(req);
	rc = line && wire_write(w, line, strlen(line)) == 0 && wire_write(w, "\n", 1) == 0 ? 0 : -1;
	if (line) {
		OPENSSL_cleanse(line, strlen(line));
		free(line);
	}
	if (rc != 0 || (reply = wire_reply(w, 1, &bytes)) == NULL) {
		snprintf(err, errlen, "login: the connection failed");
		return -1;
	}
	rc = json_is_true(json_object_get(reply, "ok")) ? 0 : -1;
	if (rc != 0)
		snprintf(
		    err, errlen, "login refused: %s",
		    json_string_value(json_object_get(json_object_get(reply, "error"), "message")));
	json_decref(reply);
	return rc;
}

static double
ms_since(double t0)
{
	return (now_seconds() - t0) * 1000.0;
}

/* One connection's share of the requests, over TLS. */
static void *
show_tls_main(void *arg)
{
	struct show *s = arg;
	struct wire w;
	char err[512], req[160];
	unsigned i;

	if (wire_connect(s, &w, err, sizeof err) != 0 || wire_login(s, &w, err, sizeof err) != 0) {
		show_error(s, "%s", err);
		wire_close(&w);
		return NULL;
	}
	while ((i = atomic_fetch_add(&s->next, 1)) < s->o.warmup + s->o.requests) {
		json_int_t id = (json_int_t)i + 2;
		size_t bytes = 0;
		int n =
		    s->o.limit
		        ? snprintf(req, sizeof req,
		                   "{\"id\":%lld,\"op\":\"customer.show\",\"customer_id\":%" PRIu64
		                   ",\"limit\":%u}\n",
		                   (long long)id, s->ids[i], s->o.limit)
		        : snprintf(req, sizeof req,
		                   "{\"id\":%lld,\"op\":\"customer.show\",\"customer_id\":%" PRIu64
		                   "}\n",
		                   (long long)id, s->ids[i]);
		double t0 = now_seconds(), ms;
		json_t *reply =
		    wire_write(&w, req, (size_t)n) == 0 ? wire_reply(&w, id, &bytes) : NULL;

		ms = ms_since(t0);
		if (reply == NULL) {
			show_error(s, "customer %" PRIu64 ": the connection failed", s->ids[i]);
			break;
		}
		if (!json_is_true(json_object_get(reply, "ok")))
			show_error(s, "customer %" PRIu64 ": %s", s->ids[i],
			           json_string_value(json_object_get(
			               json_object_get(reply, "error"), "message")));
		else
			show_check(s, i, s->ids[i], reply, bytes);
		if (i >= s->o.warmup)
			s->latency[i - s->o.warmup] = ms;
		json_decref(reply);
	}
	wire_close(&w);
	return NULL;
}

/* One connection's share of the requests, through the server's store code
 * on a database connection of its own: the database part of customer.show. */
static void *
show_direct_main(void *arg)
{
	struct show *s = arg;
	MYSQL *m;
	unsigned i;
	char err[512];

	mysql_thread_init();
	m = db_open(&s->o.db);
	while ((i = atomic_fetch_add(&s->next, 1)) < s->o.warmup + s->o.requests) {
		struct customer_view_query q = {.id = s->ids[i],
		                                .limit =
		                                    s->o.limit ? s->o.limit : CUSTOMER_TICKETS_DEF,
		                                .now = (int64_t)time(NULL)};
		json_t *view = NULL;
		double t0 = now_seconds(), ms;
		int rc = store_customer_view(m, &q, &view, err, sizeof err);
		char *text;

		ms = ms_since(t0);
		if (rc != 1) {
			show_error(s, "customer %" PRIu64 ": %s", s->ids[i],
			           rc == 0 ? "no such customer" : err);
			json_decref(view);
			continue;
		}
		text = json_dumps(view, JSON_COMPACT);
		show_check(s, i, s->ids[i], view, text ? strlen(text) : 0);
		free(text);
		json_decref(view);
		if (i >= s->o.warmup)
			s->latency[i - s->o.warmup] = ms;
	}
	mysql_close(m);
	mysql_thread_end();
	return NULL;
}

/* One statement of the view, as MariaDB's profiler timed it. */
struct stmt_time {
	char sql[72];
	double seconds;
	unsigned calls;
};

/* Add the profiler's entries since query *last to st[] (keyed by the
 * statement's first words). */
static void
profile_collect(MYSQL *m, struct stmt_time *st, size_t *n, size_t cap, unsigned long *last)
{
	MYSQL_RES *res = sql_rows(m, "SHOW PROFILES");
	MYSQL_ROW row;

	while ((row = mysql_fetch_row(res)) != NULL) {
		unsigned long id = strtoul(row[0], NULL, 10);
		char key[72];
		size_t i;
		if (id <= *last)
			continue;
		*last = id;
		snprintf(key, sizeof key, "%s", row[2] ? row[2] : "");
		for (char *c = key; *c; c++)
			if (*c == '\n' || *c == '\t')
				*c = ' ';
		for (i = 0; i < *n && strcmp(st[i].sql, key) != 0; i++)
			;
		if (i == *n) {
			if (*n == cap)
				continue;
			snprintf(st[(*n)++].sql, sizeof st[0].sql, "%s", key);
		}
		st[i].seconds += strtod(row[1], NULL);
		st[i].calls++;
	}
	mysql_free_result(res);
}

/* Time each statement of the view for o.profile customers with MariaDB's
 * profiler (server-side execution time, no round trips): which statement
 * the database part is made of. */
static void
show_profile(struct show *s)
{
	struct stmt_time st[32];
	size_t n = 0;
	unsigned long last = 0;
	char err[512];
	MYSQL *m = db_open(&s->o.db);

	memset(st, 0, sizeof st);
	sql_exec(m, "SET profiling_history_size = 100");
	sql_exec(m, "SET profiling = 1");
	profile_collect(m, st, &n, NELEM(st), &last);
	n = 0;
	memset(st, 0, sizeof st);
	for (unsigned i = 0; i < s->o.profile; i++) {
		struct customer_view_query q = {.id = s->ids[i % (s->o.warmup + s->o.requests)],
		                                .limit =
		                                    s->o.limit ? s->o.limit : CUSTOMER_TICKETS_DEF,
		                                .now = (int64_t)time(NULL)};
		json_t *view = NULL;
		if (store_customer_view(m, &q, &view, err, sizeof err) < 0)
			die("profile: %s", err);
		json_decref(view);
		profile_collect(m, st, &n, NELEM(st), &last);
	}
	for (size_t i = 0; i < n; i++)
		printf("profile.%zu=%.3f ms a view, %.2f calls: %s\n", i + 1,
		       st[i].seconds * 1000 / s->o.profile, (double)st[i].calls / s->o.profile,
		       st[i].sql);
	mysql_close(m);
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of sorted v[0..n). */
static double
percentile(const double *v, size_t n, double p)
{
	size_t k = (size_t)ceil(p / 100.0 * (double)n);

	return v[k > 0 ? k - 1 : 0];
}

/* p99 of each of o.rounds consecutive slices of the measured requests (in
 * the order they were sent), and their median: a burst of other work on a
 * shared machine spoils one slice, not the median. */
static void
show_rounds(const struct show *s)
{
	size_t n = s->o.requests, per = n / s->o.rounds;
	double *p99 = xcalloc(s->o.rounds, sizeof *p99), *slice = xcalloc(per, sizeof *slice);

	printf("latency_ms_p99_by_round=");
	for (unsigned r = 0; r < s->o.rounds; r++) {
		memcpy(slice, s->latency + r * per, per * sizeof *slice);
		qsort(slice, per, sizeof *slice, cmp_double);
		p99[r] = percentile(slice, per, 99);
		printf("%s%.3f", r ? "," : "", p99[r]);
	}
	qsort(p99, s->o.rounds, sizeof *p99, cmp_double);
	printf("\nlatency_ms_p99_median_round=%.3f\n",
	       s->o.rounds % 2 ? p99[s->o.rounds / 2]
	                       : (p99[s->o.rounds / 2 - 1] + p99[s->o.rounds / 2]) / 2);
	free(p99);
	free(slice);
}

static void
show_report(struct show *s, double seconds)
{
	size_t n = s->o.requests, bytes_max = 0;
	double sum = 0, bytes = 0, tickets = 0;
	static const double ps[] = {50, 90, 95, 99, 99.9};
	static const char *const names[] = {"p50", "p90", "p95", "p99", "p999"};

	show_rounds(s);
	qsort(s->latency, n, sizeof *s->latency, cmp_double);
	for (size_t i = 0; i < n; i++) {
		sum += s->latency[i];
		bytes += (double)s->bytes[i];
		tickets += s->tickets[i];
		if (s->bytes[i] > bytes_max)
			bytes_max = s->bytes[i];
	}
	printf("mode=%s\n", s->o.direct ? "direct" : "tls");
	printf("requests=%zu\n", n);
	printf("warmup=%u\n", s->o.warmup);
	printf("concurrency=%u\n", s->o.concurrency);
	printf("customer_ids=%" PRIu64 "-%" PRIu64 "\n", s->o.first_id, s->o.last_id);
	printf("errors=%u\n", atomic_load(&s->errors));
	printf("merged_followed=%u\n", atomic_load(&s->merged));
	printf("seconds=%.2f\n", seconds);
	printf("per_second=%.0f\n", (double)(n + s->o.warmup) / seconds);
	for (size_t i = 0; i < NELEM(ps); i++)
		printf("latency_ms_%s=%.3f\n", names[i], percentile(s->latency, n, ps[i]));
	printf("latency_ms_max=%.3f\n", s->latency[n - 1]);
	printf("latency_ms_mean=%.3f\n", sum / (double)n);
	printf("reply_bytes_mean=%.0f\n", bytes / (double)n);
	printf("reply_bytes_max=%zu\n", bytes_max);
	printf("tickets_shown_mean=%.2f\n", tickets / (double)n);
	printf("client_cpu_seconds=%.2f\n", cpu_seconds());
	if (s->first_error[0])
		printf("first_error=%s\n", s->first_error);
}

static void
show_usage(FILE *f)
{
	fprintf(f, "usage: ccgen show --first-id A --last-id B [options]\n"
	           "  customer.show for customers drawn uniformly from ids A..B; latency is timed\n"
	           "  from writing a request to reading its whole reply\n"
	           "  over TLS from callcentred (default):\n"
	           "  --connect HOST:PORT --servername NAME --ca FILE\n"
	           "  --user U --password-file F          the agent to log in as\n"
	           "  or --direct: store_customer_view() on database connections\n"
	           "  (--socket/--host/--port/--user/--password-file/--database as generate)\n"
	           "  --requests N       measured requests (default 20000)\n"
	           "  --warmup W         requests before them, not measured (default 1000)\n"
	           "  --concurrency C    connections, each one request at a time (default 4)\n"
	           "  --limit L          tickets a page (default: the server's, 10)\n"
	           "  --seed S           the sample (default 1)\n"
	           "  --rounds R         also p99 of R consecutive slices and their median\n"
	           "                     (default 5)\n"
	           "  --profile N        with --direct: then time each statement of N views with\n"
	           "                     MariaDB's profiler\n");
}

static void
show_options(struct show_options *o, int argc, char **argv)
{
	static const struct option longopts[] = {
	    DB_LONG_OPTIONS,
	    {"connect", required_argument, NULL, OPT_CONNECT},
	    {"servername", required_argument, NULL, OPT_SERVERNAME},
	    {"ca", required_argument, NULL, OPT_CA},
	    {"direct", no_argument, NULL, OPT_DIRECT},
	    {"first-id", required_argument, NULL, OPT_FIRST_ID},
	    {"last-id", required_argument, NULL, OPT_LAST_ID},
	    {"requests", required_argument, NULL, OPT_REQUESTS},
	    {"warmup", required_argument, NULL, OPT_WARMUP},
	    {"concurrency", required_argument, NULL, OPT_CONCURRENCY},
	    {"limit", required_argument, NULL, OPT_LIMIT},
	    {"profile", required_argument, NULL, OPT_PROFILE},
	    {"rounds", required_argument, NULL, OPT_ROUNDS},
	    {NULL, 0, NULL, 0},
	};
	int opt;
	char *colon;

	*o = (struct show_options){
	    .db = {.host = "127.0.0.1", .port = 3306, .user = "callcentre", .name = "callcentre"},
	    .seed = 1,
	    .requests = 20000,
	    .warmup = 1000,
	    .concurrency = 4,
	    .rounds = 5};
	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (opt == OPT_USER)
			o->user = optarg; /* the agent, and the database user with --direct */
		if (opt == OPT_PASSWORD_FILE)
			o->password_file = optarg;
		if (db_option(&o->db, opt, optarg))
			continue;
		switch (opt) {
		case OPT_SEED:
			o->seed = parse_count("--seed", optarg, 0, UINT64_MAX);
			break;
		case OPT_CONNECT:
			o->connect = optarg;
			break;
		case OPT_SERVERNAME:
			o->servername = optarg;
			break;
		case OPT_CA:
			o->ca = optarg;
			break;
		case OPT_DIRECT:
			o->direct = 1;
			break;
		case OPT_FIRST_ID:
			o->first_id = parse_count("--first-id", optarg, 1, UINT64_MAX / 2);
			break;
		case OPT_LAST_ID:
			o->last_id = parse_count("--last-id", optarg, 1, UINT64_MAX / 2);
			break;
		case OPT_REQUESTS:
			o->requests = (unsigned)parse_count("--requests", optarg, 1, 10000000);
			break;
		case OPT_WARMUP:
			o->warmup = (unsigned)parse_count("--warmup", optarg, 0, 10000000);
			break;
		case OPT_CONCURRENCY:
			o->concurrency = (unsigned)parse_count("--concurrency", optarg, 1, 256);
			break;
		case OPT_LIMIT:
			o->limit =
			    (unsigned)parse_count("--limit", optarg, 1, CUSTOMER_TICKETS_MAX);
			break;
		case OPT_PROFILE:
			o->profile = (unsigned)parse_count("--profile", optarg, 1, 100000);
			break;
		case OPT_ROUNDS:
			o->rounds = (unsigned)parse_count("--rounds", optarg, 1, 100);
			break;
		case OPT_HELP:
			show_usage(stdout);
			exit(0);
		default:
			show_usage(stderr);
			exit(2);
		}
	}
	if (o->profile && !o->direct)
		die("--profile needs --direct");
	if (o->requests < 100 * o->rounds)
		die("--rounds %u needs at least %u requests", o->rounds, 100 * o->rounds);
	if (optind != argc || o->first_id == 0 || o->last_id < o->first_id) {
		show_usage(stderr);
		exit(2);
	}
	if (o->direct) {
		read_password(&o->db);
		return;
	}
	if (!o->connect || !o->user || !o->password_file || !o->ca)
		die("show: --connect, --ca, --user and --password-file are needed (or --direct)");
	o->servername = o->servername ? o->servername : "localhost";
	if ((colon = strrchr(o->connect, ':')) == NULL ||
	    (size_t)(colon - o->connect) >= sizeof o->host)
		die("--connect: \"%s\" is not HOST:PORT", o->connect);
	snprintf(o->host, sizeof o->host, "%.*s", (int)(colon - o->connect), o->connect);
	snprintf(o->port, sizeof o->port, "%s", colon + 1);
	o->db.password_file = o->password_file;
	read_password(&o->db);
	snprintf(o->password, sizeof o->password, "%s", o->db.password);
	OPENSSL_cleanse(o->db.password, sizeof o->db.password);
}

static int
show_main(int argc, char **argv)
{
	struct show s = {.lock = PTHREAD_MUTEX_INITIALIZER};
	pthread_t *threads;
	struct rng r;
	size_t total;
	double t0;
	char err[512];

	show_options(&s.o, argc, argv);
	total = (size_t)s.o.warmup + s.o.requests;
	s.ids = xcalloc(total, sizeof *s.ids);
	s.latency = xcalloc(s.o.requests, sizeof *s.latency);
	s.bytes = xcalloc(s.o.requests, sizeof *s.bytes);
	s.tickets = xcalloc(s.o.requests, sizeof *s.tickets);
	rng_seed(&r, s.o.seed);
	for (size_t i = 0; i < total; i++)
		s.ids[i] = (uint64_t)rng_range(&r, (int64_t)s.o.first_id, (int64_t)s.o.last_id);
	if (!s.o.direct && (s.ctx = tls_client_ctx(s.o.ca, 0, err, sizeof err)) == NULL)
		die("TLS: %s", err);
	threads = xcalloc(s.o.concurrency, sizeof *threads);
	t0 = now_seconds();
	for (unsigned i = 0; i < s.o.concurrency; i++)
		if (pthread_create(&threads[i], NULL, s.o.direct ? show_direct_main : show_tls_main,
		                   &s) != 0)
			die("cannot start a client thread");
	for (unsigned i = 0; i < s.o.concurrency; i++)
		pthread_join(threads[i], NULL);
	t0 = now_seconds() - t0;
	if (atomic_load(&s.next) < total)
		show_error(&s, "not every request was sent");
	show_report(&s, t0);
	if (s.o.profile)
		show_profile(&s);
	OPENSSL_cleanse(s.o.password, sizeof s.o.password);
	SSL_CTX_free(s.ctx);
	free(threads);
	free(s.ids);
	free(s.latency);
	free(s.bytes);
	free(s.tickets);
	return atomic_load(&s.errors) == 0 ? 0 : 1;
}

/* ---- main --------------------------------------------------------------- */

int
main(int argc, char **argv)
{
	int rc;

	if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		generate_usage(argc < 2 ? stderr : stdout);
		show_usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	signal(SIGPIPE, SIG_IGN);
	if (mysql_library_init(0, NULL, NULL) != 0)
		die("cannot initialise the MariaDB client library");
	if (strcmp(argv[1], "generate") == 0)
		rc = generate_main(argc - 1, argv + 1);
	else if (strcmp(argv[1], "show") == 0)
		rc = show_main(argc - 1, argv + 1);
	else
		die("unknown command \"%s\": generate or show", argv[1]);
	mysql_library_end();
	return rc;
}

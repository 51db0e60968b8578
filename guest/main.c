/*
 * cxl-tagmem test guest.  Booted by QEMU as a multiboot kernel, it brings
 * up the emulated CXL type 3 Dynamic Capacity Device by itself, accepts the
 * capacity the host offers, maps it through HDM decoder 0 into the CXL fixed
 * memory window, and then, by mode (multiboot command line, -append):
 *
 *   mode=bench  time 8-byte loads/stores: guest RAM vs the accepted extent
 *   mode=demo   write a message into the extent, wait for a host release
 *   mode=check  pattern write/verify, unaccepted-DPA and release checks
 *
 * Output is line-oriented on COM1 (INFO/EVENT/EXTENT/RESULT/DEMO/CHECK/
 * ERROR lines, parsed by scripts/bench.sh); the exit status goes out through
 * isa-debug-exit (QEMU exit status 1 = pass, 3 = fail).
 *
 * Other options: window=<hpa> (CFMW base, default 0x110000000), mmio=<addr>
 * (BAR placement), rpbus=<n>, hbdec=1 [hb=<addr>] (also commit the host
 * bridge decoder, for hdm_for_passthrough=on), commit=late (commit the
 * device decoder after accepting instead of before), buf=<KiB>, trials=<n>,
 * trial_ms=<n>, timeout=<s>, wait_release=<s>, tag=<uuid> (expected tag),
 * msg=<text up to the end of the line>.
 */
#include "lib.h"
#include "cxl.h"

#define MB_BOOT_MAGIC   0x2BADB002
#define RAM_BUF         0x01000000ull           /* 16 MiB: above image + mbi */
#define SZ_256M         (256ull << 20)

static struct {
    char mode[16];
    uint64_t window, mmio, hb;
    int rpbus, hbdec, commit_late;
    uint64_t buf_kib, trials, trial_ms, timeout_s, wait_release_s;
    int have_tag;
    uint8_t tag[16];
    const char *msg;
} opt = {
    .mode = "bench",
    .window = 0x110000000ull,   /* q35, no maxmem, RAM below 4 GiB only */
    .mmio = 0xE0000000ull,      /* PCI hole; SeaBIOS allocates top-down */
    .hb = 0x100000000ull,       /* cxl_host_reg: first pxb-cxl's registers */
    .rpbus = -1,
    .buf_kib = 1024,
    .trials = 5,
    .trial_ms = 100,
    .timeout_s = 60,
    .wait_release_s = 30,
    .msg = "Hello from a bare-metal guest, stored through the CXL fixed "
           "memory window into a dynamic capacity extent.",
};

static char cmdline[1024];
static struct cxl_dev dev;
static struct dc_extent ext[DC_MAX_EXTENTS];
static int next;                        /* accepted extents in ext[] */
static uint64_t dc_decoder_size;        /* DPA span decoded by decoder 0 */

/* ---- command line ----------------------------------------------------- */

static uint64_t parse_num(const char *s)
{
    uint64_t v = 0;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        for (s += 2;; s++) {
            int c = *s, d;
            if (c >= '0' && c <= '9') d = c - '0';
            else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
            else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
            else break;
            v = v * 16 + d;
        }
    } else {
        for (; *s >= '0' && *s <= '9'; s++)
            v = v * 10 + (*s - '0');
    }
    return v;
}

static int parse_uuid(const char *s, uint8_t out[16])
{
    int n = 0;
    for (; *s && *s != ' ' && n < 32; s++) {
        int c = *s, d;
        if (c == '-') continue;
        if (c >= '0' && c <= '9') d = c - '0';
        else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
        else return -1;
        out[n / 2] = (uint8_t)((n & 1) ? (out[n / 2] | d) : (d << 4));
        n++;
    }
    return n == 32 ? 0 : -1;
}

static int key(const char *tok, const char *k, const char **val)
{
    size_t n = strlen(k);
    if (strncmp(tok, k, n) || tok[n] != '=')
        return 0;
    *val = tok + n + 1;
    return 1;
}

static void parse_cmdline(char *s)
{
    /* QEMU passes "<kernel path> <-append string>"; options are key=value
     * tokens, msg= swallows the rest of the line. */
    while (*s) {
        const char *v;
        while (*s == ' ')
            s++;
        char *tok = s;
        if (key(tok, "msg", &v)) {
            opt.msg = v;
            break;
        }
        while (*s && *s != ' ')
            s++;
        if (*s)
            *s++ = 0;
        if (key(tok, "mode", &v)) {
            size_t n = strlen(v);
            memset(opt.mode, 0, sizeof(opt.mode));
            memcpy(opt.mode, v, n < sizeof(opt.mode) - 1 ? n : sizeof(opt.mode) - 1);
        }
        else if (key(tok, "window", &v)) opt.window = parse_num(v);
        else if (key(tok, "mmio", &v)) opt.mmio = parse_num(v);
        else if (key(tok, "hb", &v)) opt.hb = parse_num(v);
        else if (key(tok, "rpbus", &v)) opt.rpbus = (int)parse_num(v);
        else if (key(tok, "hbdec", &v)) opt.hbdec = (int)parse_num(v);
        else if (key(tok, "commit", &v)) opt.commit_late = !strncmp(v, "late", 5);
        else if (key(tok, "buf", &v)) opt.buf_kib = parse_num(v);
        else if (key(tok, "trials", &v)) opt.trials = parse_num(v);
        else if (key(tok, "trial_ms", &v)) opt.trial_ms = parse_num(v);
        else if (key(tok, "timeout", &v)) opt.timeout_s = parse_num(v);
        else if (key(tok, "wait_release", &v)) opt.wait_release_s = parse_num(v);
        else if (key(tok, "tag", &v)) opt.have_tag = parse_uuid(v, opt.tag) == 0;
    }
}

static void fail(const char *why)
{
    kprintf("ERROR %s\n", why);
    qemu_exit(1);
}

static uint64_t hpa_of(uint64_t dpa)
{
    /* decoder 0: HPA base = window, DPA base = 0 (no skip), IW = 0 */
    return opt.window + dpa;
}

static int commit_decoders(uint64_t size)
{
    if (opt.hbdec) {
        /* Host bridge with hdm_for_passthrough=on: its decoder routes the
         * window to the root port. */
        if (hdm_commit(opt.hb, opt.window, size, dev.rp_port))
            return -1;
        kprintf("INFO host bridge decoder 0 committed: 0x%lx+0x%lx -> port %d\n",
                opt.window, size, dev.rp_port);
    }
    if (hdm_commit(dev.bar0, opt.window, size, -1))
        return -1;
    kprintf("INFO device decoder 0 committed: HPA 0x%lx+0x%lx -> DPA 0\n",
            opt.window, size);
    return 0;
}

static void print_extents(void)
{
    struct dc_extent l[DC_MAX_EXTENTS];
    int total, n = dc_get_extent_list(&dev, l, DC_MAX_EXTENTS, &total);

    if (n < 0) {
        kprintf("WARN Get DC Extent List rc=%d\n", -n);
        return;
    }
    for (int i = 0; i < n; i++) {
        kprintf("EXTENT dpa=0x%lx len=0x%lx hpa=0x%lx tag=", l[i].dpa, l[i].len,
                hpa_of(l[i].dpa));
        print_uuid(l[i].tag);
        kputs("\n");
    }
    kprintf("INFO extent list: %d accepted\n", total);
}

/* ---- bench ------------------------------------------------------------ */

/* Same loop body for RAM and the window, unrolled so that TCG's loop
 * overhead (add/cmp/branch) is small next to the accesses. */
static uint64_t __attribute__((noinline)) load_pass(volatile uint64_t *p, uint64_t words)
{
    uint64_t s = 0;
    for (uint64_t i = 0; i < words; i += 8)
        s += p[i] + p[i + 1] + p[i + 2] + p[i + 3] +
             p[i + 4] + p[i + 5] + p[i + 6] + p[i + 7];
    return s;
}

static void __attribute__((noinline)) store_pass(volatile uint64_t *p, uint64_t words, uint64_t v)
{
    for (uint64_t i = 0; i < words; i += 8) {
        p[i] = v; p[i + 1] = v; p[i + 2] = v; p[i + 3] = v;
        p[i + 4] = v; p[i + 5] = v; p[i + 6] = v; p[i + 7] = v;
    }
}

static volatile uint64_t sink;

/* One trial: whole passes over the buffer until trial_ms has elapsed.
 * Returns picoseconds per 8-byte access. */
static uint64_t trial(volatile uint64_t *p, uint64_t words, int store)
{
    uint64_t budget = opt.trial_ms * tsc_khz, passes = 0, t0 = rdtsc(), dt;

    do {
        if (store)
            store_pass(p, words, passes);
        else
            sink += load_pass(p, words);
        passes++;
        dt = rdtsc() - t0;
    } while (dt < budget);
    /* ps = cycles * 1e9 / tsc_khz; fits in 64 bits for trials below ~5 s */
    return dt * 1000000000ull / tsc_khz / (passes * words);
}

static void sort(uint64_t *a, int n)
{
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && a[j - 1] > a[j]; j--) {
            uint64_t t = a[j]; a[j] = a[j - 1]; a[j - 1] = t;
        }
}

/* Median of opt.trials trials; also prints min/median/max. */
static uint64_t measure(const char *name, const char *op, volatile uint64_t *p,
                        uint64_t words, int store)
{
    uint64_t t[32];
    int n = opt.trials < 1 ? 1 : opt.trials > 32 ? 32 : (int)opt.trials;

    for (int i = 0; i < n; i++)
        t[i] = trial(p, words, store);
    sort(t, n);
    kprintf("DETAIL %s %s_ns min=", name, op);
    print_fixed3(t[0]);
    kputs(" median=");
    print_fixed3(t[n / 2]);
    kputs(" max=");
    print_fixed3(t[n - 1]);
    kprintf(" trials=%d\n", n);
    return t[n / 2];
}

static void bench_one(const char *name, uint64_t addr, uint64_t bytes, uint64_t r[2])
{
    volatile uint64_t *p = (volatile uint64_t *)addr;
    uint64_t words = bytes / 8;

    /* Warm up: first touches fault in host pages (a sparse backing file)
     * and fill QEMU's softmmu TLB; neither is what we want to time. */
    store_pass(p, words, 1);
    sink += load_pass(p, words);

    r[0] = measure(name, "load", p, words, 0);
    r[1] = measure(name, "store", p, words, 1);
    kprintf("RESULT %s load_ns=", name);
    print_fixed3(r[0]);
    kputs(" store_ns=");
    print_fixed3(r[1]);
    kprintf(" addr=0x%lx bytes=%lu\n", addr, bytes);
}

static int bench(void)
{
    uint64_t bytes = opt.buf_kib * 1024, ram[2], dc[2];

    bytes &= ~63ull;
    if (!bytes || bytes > ext[0].len)
        fail("buf= must be non-zero and fit in the first extent");
    kprintf("INFO bench: %lu-byte buffer, %lu trials of %lu ms per op, median reported\n",
            bytes, opt.trials, opt.trial_ms);
    bench_one("ram", RAM_BUF, bytes, ram);
    bench_one("dc", hpa_of(ext[0].dpa), bytes, dc);

    /* The last store trial wrote its pass counter everywhere: a store that
     * silently went nowhere would show up here. */
    volatile uint64_t *w = (volatile uint64_t *)hpa_of(ext[0].dpa);
    if (w[0] == 0 || w[0] != w[bytes / 8 - 1]) {
        kprintf("ERROR window readback mismatch (0x%lx vs 0x%lx): stores not reaching the extent\n",
                w[0], w[bytes / 8 - 1]);
        return 1;
    }
    /* slowdown = dc/ram; throughput ratio = ram/dc (target >= 0.8) */
    kputs("RESULT ratio load_slowdown=");
    print_fixed3(dc[0] * 1000 / (ram[0] ? ram[0] : 1));
    kputs(" store_slowdown=");
    print_fixed3(dc[1] * 1000 / (ram[1] ? ram[1] : 1));
    kputs(" load_tput=");
    print_fixed3(ram[0] * 1000 / (dc[0] ? dc[0] : 1));
    kputs(" store_tput=");
    print_fixed3(ram[1] * 1000 / (dc[1] ? dc[1] : 1));
    kputs("\n");
    return 0;
}

/* ---- demo ------------------------------------------------------------- */

static void copy_out(uint64_t hpa, char *dst, size_t max)
{
    volatile uint64_t *w = (volatile uint64_t *)hpa;
    for (size_t i = 0; i + 8 <= max; i += 8) {
        uint64_t v = w[i / 8];
        memcpy(dst + i, &v, 8);
    }
    dst[max - 1] = 0;
}

static int demo(void)
{
    static char back[512];
    uint64_t hpa = hpa_of(ext[0].dpa);
    size_t len = strlen(opt.msg) + 1;
    volatile uint64_t *w = (volatile uint64_t *)hpa;

    if (len > sizeof(back) - 8)
        len = sizeof(back) - 8;
    /* 8-byte stores, NUL-padded: the same access size the bench uses */
    for (size_t i = 0; i < len; i += 8) {
        uint64_t v = 0;
        memcpy(&v, opt.msg + i, len - i < 8 ? len - i : 8);
        w[i / 8] = v;
    }
    copy_out(hpa, back, sizeof(back));
    kprintf("DEMO wrote %lu bytes at hpa=0x%lx (dpa=0x%lx)\n", (uint64_t)len, hpa, ext[0].dpa);
    kprintf("DEMO readback: %s\n", back);

    kprintf("DEMO waiting up to %lu s for the host to release the capacity\n",
            opt.wait_release_s);
    struct dc_extent rel[DC_MAX_EXTENTS];
    int n = dc_wait_group(&dev, 1, rel, DC_MAX_EXTENTS, opt.wait_release_s * 1000);
    if (n <= 0) {
        kputs("DEMO no release request; exiting with the capacity still accepted\n");
        return 0;
    }
    int rc = dc_release(&dev, rel, n);
    if (rc) {
        kprintf("ERROR Release DC rc=%d\n", rc);
        return 1;
    }
    kprintf("DEMO released %d extent(s); window now reads 0x%lx\n", n, w[0]);
    print_extents();
    return 0;
}

/* ---- check ------------------------------------------------------------ */

static uint64_t pattern(uint64_t dpa)
{
    /* must match scripts/bench.sh's host-side file check */
    return dpa * 0x9E3779B97F4A7C15ull + 0x0123456789ABCDEFull;
}

static int errors;

static void expect(const char *what, uint64_t addr, uint64_t got, uint64_t want)
{
    if (got != want) {
        if (errors < 10)
            kprintf("CHECK FAIL %s at 0x%lx: got 0x%lx want 0x%lx\n", what, addr, got, want);
        errors++;
    }
}

/* Offsets written in each extent: the first 1 MiB densely, then one qword
 * per 64 KiB, then the last qword (MMIO costs ~0.3 us per access today). */
static uint64_t next_off(uint64_t off, uint64_t len)
{
    if (off + 8 < (1u << 20))
        return off + 8;
    if (off + 8 == len)
        return len;
    off = (off + 0x10000) & ~0xFFFFull;
    return off < len ? off : len - 8;
}

static int check(void)
{
    uint64_t words = 0;

    for (int i = 0; i < next; i++)
        for (uint64_t o = 0; o < ext[i].len; o = next_off(o, ext[i].len)) {
            uint64_t dpa = ext[i].dpa + o;
            *(volatile uint64_t *)hpa_of(dpa) = pattern(dpa);
            words++;
        }
    for (int i = 0; i < next; i++)
        for (uint64_t o = 0; o < ext[i].len; o = next_off(o, ext[i].len)) {
            uint64_t dpa = ext[i].dpa + o;
            expect("pattern", hpa_of(dpa), *(volatile uint64_t *)hpa_of(dpa), pattern(dpa));
        }
    kprintf("CHECK pattern: %lu qwords written and verified through the window, %d errors\n",
            words, errors);

    /* The extent list must show exactly what we accepted, with the tag. */
    struct dc_extent l[DC_MAX_EXTENTS];
    int total, n = dc_get_extent_list(&dev, l, DC_MAX_EXTENTS, &total);
    if (n != next || total != next) {
        kprintf("CHECK FAIL extent list has %d/%d entries, accepted %d\n", n, total, next);
        errors++;
    }
    for (int i = 0; i < n && i < next; i++) {
        expect("extent-list dpa", i, l[i].dpa, ext[i].dpa);
        expect("extent-list len", i, l[i].len, ext[i].len);
    }
    if (opt.have_tag) {
        for (int i = 0; i < next; i++)
            for (int k = 0; k < 16; k++) {
                expect("event tag byte", k, ext[i].tag[k], opt.tag[k]);
                if (i < n)
                    expect("extent-list tag byte", k, l[i].tag[k], opt.tag[k]);
            }
        kputs("CHECK tag compared in event records and extent list\n");
    }

    /* An address inside the decoder but outside every accepted extent must
     * not be backed: reads return 0, writes are dropped. */
    uint64_t end = 0;
    for (int i = 0; i < next; i++)
        if (ext[i].dpa + ext[i].len > end)
            end = ext[i].dpa + ext[i].len;
    if (end + 8 <= dc_decoder_size) {
        volatile uint64_t *u = (volatile uint64_t *)hpa_of(end);
        *u = 0xBADBADBADBADBADBull;
        expect("unaccepted dpa", hpa_of(end), *u, 0);
        kprintf("CHECK unaccepted dpa=0x%lx reads 0x%lx\n", end, *u);
    }

    /* Guest-initiated release: the capacity must go away from the window
     * (the data stays in a file backend; the host side checks that). */
    int rc = dc_release(&dev, ext, next);
    if (rc) {
        kprintf("CHECK FAIL Release DC rc=%d\n", rc);
        errors++;
    } else {
        for (int i = 0; i < next; i++)
            expect("after release", hpa_of(ext[i].dpa),
                   *(volatile uint64_t *)hpa_of(ext[i].dpa), 0);
        n = dc_get_extent_list(&dev, l, DC_MAX_EXTENTS, &total);
        if (n != 0 || total != 0) {
            kprintf("CHECK FAIL extent list after release: %d/%d entries\n", n, total);
            errors++;
        }
        kprintf("CHECK released %d extent(s) from the guest side\n", next);
    }
    kprintf("CHECK %s (%d errors)\n", errors ? "FAIL" : "PASS", errors);
    return errors ? 1 : 0;
}

/* ---- main ------------------------------------------------------------- */

void kmain(uint32_t magic, uint32_t mbi)
{
    struct dc_region reg[DC_MAX_REGIONS];
    int nreg, rc;

    serial_init();
    if (magic == MB_BOOT_MAGIC && (*(volatile uint32_t *)(uint64_t)mbi & 4)) {
        const char *s = (const char *)(uint64_t)*(volatile uint32_t *)(uint64_t)(mbi + 16);
        size_t n = strlen(s);
        memcpy(cmdline, s, n < sizeof(cmdline) - 1 ? n : sizeof(cmdline) - 1);
    }
    kprintf("GUEST cxl-tagmem test guest, cmdline: %s\n", cmdline);
    parse_cmdline(cmdline);

    tsc_calibrate();
    kprintf("INFO tsc_khz=%lu (calibrated against the PIT over 100 ms)\n", tsc_khz);

    if (cxl_setup(&dev, opt.rpbus, opt.mmio))
        fail("CXL device setup failed");

    rc = dc_get_config(&dev, reg, &nreg);
    if (rc || nreg < 1)
        fail("Get Dynamic Capacity Configuration failed (no DC regions?)");
    for (int i = 0; i < nreg && i < DC_MAX_REGIONS; i++) {
        kprintf("INFO dc region %d: dpa 0x%lx len 0x%lx block 0x%lx\n",
                i, reg[i].base, reg[i].len, reg[i].block_size);
        if (reg[i].base + reg[i].len > dc_decoder_size)
            dc_decoder_size = reg[i].base + reg[i].len;
    }
    /* One decoder from DPA 0 over all DC regions, in 256 MiB units. */
    dc_decoder_size = (dc_decoder_size + SZ_256M - 1) & ~(SZ_256M - 1);

    if (!opt.commit_late && commit_decoders(dc_decoder_size))
        fail("HDM decoder commit failed");

    kprintf("READY waiting up to %lu s for a dynamic capacity add event\n", opt.timeout_s);
    next = dc_wait_group(&dev, 0, ext, DC_MAX_EXTENTS, opt.timeout_s * 1000);
    if (next <= 0)
        fail("no dynamic capacity was offered");
    rc = dc_add_response(&dev, ext, next);
    if (rc) {
        kprintf("ERROR Add Dynamic Capacity Response rc=%d\n", rc);
        qemu_exit(1);
    }
    kprintf("ACCEPTED %d extent(s)\n", next);
    if (opt.commit_late && commit_decoders(dc_decoder_size))
        fail("HDM decoder commit failed");
    print_extents();

    if (!strncmp(opt.mode, "bench", 6))
        rc = bench();
    else if (!strncmp(opt.mode, "demo", 5))
        rc = demo();
    else if (!strncmp(opt.mode, "check", 6))
        rc = check();
    else
        fail("unknown mode= (bench, demo, check)");
    kprintf("DONE mode=%s rc=%d\n", opt.mode, rc);
    qemu_exit(rc ? 1 : 0);
}

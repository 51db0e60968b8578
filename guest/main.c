/*
 * cxl-tagmem test guest.  Booted by QEMU as a multiboot kernel, it brings
 * up the emulated CXL type 3 Dynamic Capacity Device by itself, accepts the
 * capacity the host offers, maps it through HDM decoder 0 into the CXL fixed
 * memory window, and then, by mode (multiboot command line, -append):
 *
 *   mode=bench  time 8-byte loads/stores: guest RAM vs the accepted extent
 *   mode=demo   write a message into the extent, wait for a host release
 *   mode=check  pattern write/verify, unaccepted-DPA and release checks
 *   mode=serve  loop: accept every capacity offer, answer every release
 *               request, until 'q' arrives on the PS/2 keyboard (QMP
 *               send-key) or QEMU is quit; 'r' re-reads the start of
 *               every accepted extent and prints it
 *
 * Output is line-oriented on COM1 (INFO/EVENT/EXTENT/RESULT/DEMO/CHECK/
 * SERVE/ERROR lines, parsed by scripts/bench.sh); the exit status goes out through
 * isa-debug-exit (QEMU exit status 1 = pass, 3 = fail).
 *
 * Other options: window=<hpa> (CFMW base, default 0x110000000), mmio=<addr>
 * (BAR placement), rpbus=<n>, hbdec=1 [hb=<addr>] (also commit the host
 * bridge decoder, for hdm_for_passthrough=on), commit=late (commit the
 * device decoder after accepting instead of before), buf=<KiB>, trials=<n>,
 * trial_ms=<n>, timeout=<s>, wait_release=<s>, tag=<uuid> (expected tag),
 * write=0 (serve: do not stamp accepted extents), serve_s=<s> (serve: stop
 * after s seconds; default 0 = until told), msg=<text up to the end of the
 * line>.
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
    uint64_t buf_kib, trials, trial_ms, timeout_s, wait_release_s, serve_s;
    int no_write;
    int have_tag;
    uint8_t tag[16];
    const char *msg;
} opt = {
    .mode = "bench",
    .window = 0x110000000ull,   /* q35, no maxmem, -m below 2.75G */
    .mmio = 0xE0000000ull,      /* PCI hole; SeaBIOS allocates top-down */
    .hb = 0x100000000ull,       /* cxl_host_reg (no RAM above 4G): pxb 0 */
    .rpbus = -1,
    .buf_kib = 1024,
    .trials = 7,
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
        else if (key(tok, "write", &v)) opt.no_write = parse_num(v) == 0;
        else if (key(tok, "serve_s", &v)) opt.serve_s = parse_num(v);
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
static uint64_t last_stored;    /* the value the last store pass wrote */

/* One trial: whole passes over the buffer until trial_ms has elapsed.
 * Returns picoseconds per 8-byte access. */
static uint64_t trial(volatile uint64_t *p, uint64_t words, int store)
{
    uint64_t budget = opt.trial_ms * tsc_khz, passes = 0, t0 = rdtsc(), dt;

    do {
        if (store) {
            last_stored = passes + 1;           /* never 0: see the readback check */
            store_pass(p, words, last_stored);
        } else
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

struct stat { uint64_t min, med, max; };

static struct stat stats(uint64_t *t, int n)
{
    sort(t, n);
    return (struct stat){ t[0], t[n / 2], t[n - 1] };
}

static void print_stat(const char *name, const char *op, struct stat s, int n)
{
    kprintf("DETAIL %s %s_ns min=", name, op);
    print_fixed3(s.min);
    kputs(" median=");
    print_fixed3(s.med);
    kputs(" max=");
    print_fixed3(s.max);
    kprintf(" trials=%d\n", n);
}

static void print_result(const char *name, uint64_t addr, uint64_t bytes,
                         struct stat ld, struct stat st)
{
    kprintf("RESULT %s load_ns=", name);
    print_fixed3(ld.med);
    kputs(" store_ns=");
    print_fixed3(st.med);
    kputs(" load_min_ns=");
    print_fixed3(ld.min);
    kputs(" store_min_ns=");
    print_fixed3(st.min);
    kprintf(" addr=0x%lx bytes=%lu\n", addr, bytes);
}

static int bench(void)
{
    uint64_t bytes = opt.buf_kib * 1024 & ~63ull;
    uint64_t ram_t[2][32], dc_t[2][32];
    int n = opt.trials < 1 ? 1 : opt.trials > 32 ? 32 : (int)opt.trials;

    /* RAM_BUF + 256 MiB stays inside the smallest -m we use (1G) */
    if (!bytes || bytes > ext[0].len || bytes > SZ_256M)
        fail("buf= must be non-zero, at most 256 MiB and fit in the first extent");
    volatile uint64_t *ram = (volatile uint64_t *)RAM_BUF;
    volatile uint64_t *dc = (volatile uint64_t *)hpa_of(ext[0].dpa);
    uint64_t words = bytes / 8;

    kprintf("INFO bench: %lu-byte buffer, %d alternating RAM/extent trials of %lu ms "
            "per op, median reported\n", bytes, n, opt.trial_ms);

    /* Warm up: first touches fault in host pages (a sparse backing file)
     * and fill QEMU's softmmu TLB; neither is what we want to time. */
    store_pass(ram, words, 1);
    store_pass(dc, words, 1);
    sink += load_pass(ram, words) + load_pass(dc, words);

    /* RAM and extent trials alternate, so host noise (this is a shared
     * machine) hits both sides of the ratio alike. */
    for (int op = 0; op < 2; op++)
        for (int i = 0; i < n; i++) {
            ram_t[op][i] = trial(ram, words, op);
            dc_t[op][i] = trial(dc, words, op);
        }

    struct stat rl = stats(ram_t[0], n), rs = stats(ram_t[1], n);
    struct stat dl = stats(dc_t[0], n), ds = stats(dc_t[1], n);
    print_stat("ram", "load", rl, n);
    print_stat("ram", "store", rs, n);
    print_stat("dc", "load", dl, n);
    print_stat("dc", "store", ds, n);
    print_result("ram", RAM_BUF, bytes, rl, rs);
    print_result("dc", (uint64_t)dc, bytes, dl, ds);

    /* The last store trial (the extent's: trials alternate, RAM first)
     * wrote its pass counter into every word: a store that silently went
     * nowhere, or elsewhere, shows up here. */
    for (uint64_t i = 0; i < words; i++) {
        if (dc[i] != last_stored) {
            kprintf("ERROR window readback mismatch at word %lu: 0x%lx, wrote 0x%lx: "
                    "stores not reaching the extent\n", i, dc[i], last_stored);
            return 1;
        }
    }
    /* slowdown = extent time / RAM time; throughput ratio = extent
     * throughput / RAM throughput = RAM time / extent time (target >= 0.8) */
    kputs("RESULT ratio load_slowdown=");
    print_fixed3(dl.med * 1000 / (rl.med ? rl.med : 1));
    kputs(" store_slowdown=");
    print_fixed3(ds.med * 1000 / (rs.med ? rs.med : 1));
    kputs(" load_tput=");
    print_fixed3(rl.med * 1000 / (dl.med ? dl.med : 1));
    kputs(" store_tput=");
    print_fixed3(rs.med * 1000 / (ds.med ? ds.med : 1));
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

/* ---- serve ------------------------------------------------------------ */

/*
 * The guest as a long-running host OS for the device: whatever the host
 * (QMP or a fabric manager) offers is accepted, whatever it asks back is
 * released, and each step is one SERVE line, so a script on the host can
 * drive a whole scenario and follow it on the serial port.
 */

static struct dc_extent held[DC_MAX_EXTENTS * 4];   /* accepted, not released */
static int nheld, serve_errors, decoders_committed;

static int extent_total(void)
{
    struct dc_extent l[DC_MAX_EXTENTS];
    int total;

    return dc_get_extent_list(&dev, l, DC_MAX_EXTENTS, &total) < 0 ? -1 : total;
}

/* Write a NUL-terminated line at the start of the extent with 8-byte
 * stores (as demo does) and read it back through the window. */
static void stamp(const struct dc_extent *e)
{
    static char line[256], back[256];
    char tag[37];
    uint64_t hpa = hpa_of(e->dpa);
    volatile uint64_t *w = (volatile uint64_t *)hpa;

    fmt_uuid(tag, e->tag);
    size_t len = ksnprintf(line, sizeof(line), "cxl-tagmem guest: dpa=0x%lx len=0x%lx tag=%s: %s",
                           e->dpa, e->len, tag, opt.msg) + 1;
    if (len > sizeof(line))
        len = sizeof(line);
    for (size_t i = 0; i < len; i += 8) {
        uint64_t v = 0;
        memcpy(&v, line + i, len - i < 8 ? len - i : 8);
        w[i / 8] = v;
    }
    copy_out(hpa, back, sizeof(back));
    if (strncmp(back, line, len)) {
        kprintf("SERVE ERROR readback at hpa=0x%lx differs: %s\n", hpa, back);
        serve_errors++;
        return;
    }
    kprintf("SERVE wrote hpa=0x%lx dpa=0x%lx bytes=%lu: %s\n", hpa, e->dpa, (uint64_t)len, line);
}

static void serve_add(const struct dc_extent *e, int n)
{
    int rc = dc_add_response(&dev, e, n);

    if (rc) {
        kprintf("SERVE ERROR Add DC Response for %d extent(s): rc=%d\n", n, rc);
        serve_errors++;
        return;
    }
    for (int i = 0; i < n; i++) {
        kprintf("SERVE accepted dpa=0x%lx len=0x%lx tag=", e[i].dpa, e[i].len);
        print_uuid(e[i].tag);
        kputs("\n");
        if (nheld < (int)(sizeof(held) / sizeof(held[0])))
            held[nheld++] = e[i];
    }
    if (!decoders_committed) {
        if (commit_decoders(dc_decoder_size)) {
            kputs("SERVE ERROR HDM decoder commit failed\n");
            serve_errors++;
            return;
        }
        decoders_committed = 1;
    }
    if (!opt.no_write)
        for (int i = 0; i < n; i++)
            stamp(&e[i]);
    kprintf("SERVE extent list: %d accepted\n", extent_total());
}

static void serve_release(const struct dc_extent *e, int n)
{
    int rc = dc_release(&dev, e, n);

    if (rc) {
        kprintf("SERVE ERROR Release DC for %d extent(s): rc=%d\n", n, rc);
        serve_errors++;
        return;
    }
    for (int i = 0; i < n; i++) {
        /* once released, the window no longer reaches the backend */
        kprintf("SERVE released dpa=0x%lx len=0x%lx tag=", e[i].dpa, e[i].len);
        print_uuid(e[i].tag);
        kprintf(" window_now=0x%lx\n", *(volatile uint64_t *)hpa_of(e[i].dpa));
        for (int j = 0; j < nheld; j++)
            if (held[j].dpa == e[i].dpa && held[j].len == e[i].len) {
                held[j] = held[--nheld];
                break;
            }
    }
    kprintf("SERVE extent list: %d accepted\n", extent_total());
}

/* Keys from the PS/2 keyboard (QMP send-key): 'q' stops serving, 'r'
 * re-reads every held extent.  SeaBIOS turns on i8042 translation, so
 * these are set 1 make codes ('q' 0x10, 'r' 0x13; a break code has bit 7
 * set); set 2 ('q' 0x15, 'r' 0x2d) is understood too, its break prefix
 * 0xf0 and the byte after it are skipped.  Mouse bytes and other keys are
 * dropped.  Returns 'q', 'r' or 0. */
static int serve_key(void)
{
    static int brk;
    uint8_t st;

    while ((st = inb(0x64)) & 1) {
        uint8_t b = inb(0x60);
        if (st & 0x20)
            continue;
        if (brk) {
            brk = 0;
        } else if (b == 0xf0) {
            brk = 1;
        } else if (b == 0x10 || b == 0x15) {
            return 'q';
        } else if (b == 0x13 || b == 0x2d) {
            return 'r';
        }
    }
    return 0;
}

/* 'r': print the NUL-terminated text at the start of every held extent,
 * read through the window now.  With a sharable region and write=0, this
 * is how a second VM shows what another VM wrote into the same backend
 * file (make run-shared). */
static void serve_read(void)
{
    static char back[256];

    for (int i = 0; i < nheld; i++) {
        uint64_t hpa = hpa_of(held[i].dpa);
        copy_out(hpa, back, sizeof(back));
        kprintf("SERVE read hpa=0x%lx dpa=0x%lx len=0x%lx: %s\n", hpa, held[i].dpa,
                held[i].len, back);
    }
    kprintf("SERVE read %d extent(s)\n", nheld);
}

static int serve(void)
{
    static struct dc_record r[DC_MAX_RECORDS];
    static struct dc_extent group[2][DC_MAX_EXTENTS];  /* [0] add, [1] release */
    int ngroup[2] = { 0, 0 };
    uint64_t t0 = rdtsc();

    kprintf("READY serving dynamic capacity: accept adds, answer releases; "
            "send-key r to re-read, q to stop%s\n", opt.serve_s ? " (or the serve_s= timeout)" : "");
    for (;;) {
        int k = serve_key();
        if (k == 'q') {
            kputs("SERVE quit key\n");
            break;
        }
        if (k == 'r')
            serve_read();
        if (opt.serve_s && rdtsc() - t0 > opt.serve_s * 1000 * tsc_khz) {
            kputs("SERVE serve_s timeout\n");
            break;
        }
        if (!dc_event_pending(&dev)) {
            delay_ms(1);    /* let the QMP monitor take the BQL */
            continue;
        }
        int nr = dc_read_records(&dev, r, DC_MAX_RECORDS, 0);
        if (nr < 0) {
            serve_errors++;
            delay_ms(100);
            continue;
        }
        /* A group (one host request) ends at a record without "More"; it
         * may span several Get Event Records calls.  Add and release
         * groups are gathered separately. */
        for (int i = 0; i < nr; i++) {
            int t = r[i].type;
            if (t != 0 && t != 1) {
                kprintf("SERVE ignored DC event type %d\n", t);
                continue;
            }
            if (ngroup[t] < DC_MAX_EXTENTS) {
                group[t][ngroup[t]++] = r[i].e;
            } else {
                kprintf("SERVE ERROR more than %d extents in one request; dropped dpa=0x%lx\n",
                        DC_MAX_EXTENTS, r[i].e.dpa);
                serve_errors++;
            }
            if (r[i].more)
                continue;
            if (t == 0)
                serve_add(group[0], ngroup[0]);
            else
                serve_release(group[1], ngroup[1]);
            ngroup[t] = 0;
        }
    }
    kprintf("SERVE done: %d extent(s) still accepted, %d error(s)\n", nheld, serve_errors);
    return serve_errors ? 1 : 0;
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
    int mode = !strncmp(opt.mode, "bench", 6) ? 0 : !strncmp(opt.mode, "demo", 5) ? 1 :
               !strncmp(opt.mode, "check", 6) ? 2 : !strncmp(opt.mode, "serve", 6) ? 3 : -1;
    if (mode < 0)
        fail("unknown mode= (bench, demo, check, serve)");

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

    if (!opt.commit_late) {
        if (commit_decoders(dc_decoder_size))
            fail("HDM decoder commit failed");
        decoders_committed = 1;
    }

    if (mode == 3) {
        rc = serve();
        kprintf("DONE mode=%s rc=%d\n", opt.mode, rc);
        qemu_exit(rc ? 1 : 0);
    }

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

    rc = mode == 0 ? bench() : mode == 1 ? demo() : check();
    kprintf("DONE mode=%s rc=%d\n", opt.mode, rc);
    qemu_exit(rc ? 1 : 0);
}

/*
 * Minimal CXL type 3 driver for the test guest: PCI bring-up of the CXL
 * root port and the type3 below it, the primary mailbox, the dynamic
 * capacity event/response commands and HDM decoder commit.  Register
 * offsets follow CXL r3.1 section 8.2 and QEMU's hw/cxl implementation.
 */
#include "lib.h"
#include "cxl.h"

/* ---- PCI config space (mechanism #1) ---------------------------------- */

static void pci_addr(int bus, int dev, int fn, int off)
{
    outl(0xCF8, 0x80000000u | (bus << 16) | (dev << 11) | (fn << 8) | (off & 0xFC));
}

uint32_t pci_rd32(int b, int d, int f, int off) { pci_addr(b, d, f, off); return inl(0xCFC); }
uint16_t pci_rd16(int b, int d, int f, int off) { pci_addr(b, d, f, off); return inw(0xCFC + (off & 2)); }
uint8_t pci_rd8(int b, int d, int f, int off) { pci_addr(b, d, f, off); return inb(0xCFC + (off & 3)); }
void pci_wr32(int b, int d, int f, int off, uint32_t v) { pci_addr(b, d, f, off); outl(0xCFC, v); }
void pci_wr16(int b, int d, int f, int off, uint16_t v) { pci_addr(b, d, f, off); outw(0xCFC + (off & 2), v); }
void pci_wr8(int b, int d, int f, int off, uint8_t v) { pci_addr(b, d, f, off); outb(0xCFC + (off & 3), v); }

#define PCI_COMMAND     0x04
#define PCI_CMD_MEM     0x2
#define PCI_CMD_MASTER  0x4
#define PCI_CAP_PTR     0x34

#define CXL_RP_VID      0x8086
#define CXL_RP_DID      0x7075  /* QEMU cxl-rp */
#define CXL_T3_VID      0x8086
#define CXL_T3_DID      0x0d93  /* QEMU cxl-type3 */

static int pci_find_cap(int b, int d, int f, int id)
{
    int p = pci_rd8(b, d, f, PCI_CAP_PTR) & 0xFC;
    for (int n = 0; p && n < 48; n++) {
        if (pci_rd8(b, d, f, p) == id)
            return p;
        p = pci_rd8(b, d, f, p + 1) & 0xFC;
    }
    return 0;
}

/* Size and place every memory BAR of b:d.f from *base upwards (naturally
 * aligned).  64-bit BARs get a zero upper half: everything stays below 4 GiB
 * in the PCI hole, where a 32-bit bridge window can cover it. */
static void assign_bars(int b, int d, int f, uint64_t *base, uint64_t bars[6])
{
    for (int i = 0; i < 6; ) {
        int off = 0x10 + 4 * i;
        uint32_t orig = pci_rd32(b, d, f, off);
        int is64 = (orig & 0x7) == 0x4;
        uint64_t mask;

        bars[i] = 0;
        if (orig & 1) {                 /* I/O BAR: the type3 has none */
            i++;
            continue;
        }
        pci_wr32(b, d, f, off, 0xFFFFFFFF);
        mask = pci_rd32(b, d, f, off) & ~0xFull;
        if (is64) {
            uint32_t hi = pci_rd32(b, d, f, off + 4);
            pci_wr32(b, d, f, off + 4, 0xFFFFFFFF);
            mask |= (uint64_t)pci_rd32(b, d, f, off + 4) << 32;
            pci_wr32(b, d, f, off + 4, hi);
        } else if (mask) {
            mask |= 0xFFFFFFFF00000000ull;
        }
        if (!mask) {                    /* not implemented */
            pci_wr32(b, d, f, off, orig);
            i += is64 ? 2 : 1;
            continue;
        }
        uint64_t size = ~mask + 1;
        uint64_t a = (*base + size - 1) & ~(size - 1);
        pci_wr32(b, d, f, off, (uint32_t)a);
        if (is64)
            pci_wr32(b, d, f, off + 4, 0);
        bars[i] = a;
        *base = a + size;
        kprintf("INFO pci %02x:%02x.%d BAR%d = 0x%lx size 0x%lx\n", b, d, f, i, a, size);
        i += is64 ? 2 : 1;
    }
}

static int find_root_port(int hint)
{
    int lo = hint >= 0 ? hint : 1, hi = hint >= 0 ? hint : 255;

    for (int b = lo; b <= hi; b++)
        for (int d = 0; d < 32; d++) {
            uint32_t id = pci_rd32(b, d, 0, 0);
            if ((id & 0xFFFF) == CXL_RP_VID && (id >> 16) == CXL_RP_DID && d == 0)
                return b;
        }
    return -1;
}

/* mailbox and device-status register blocks, found via the capability array */
static uint64_t mbox_base, devstat_base;

int cxl_setup(struct cxl_dev *c, int rp_bus_hint, uint64_t mmio_base)
{
    uint64_t bars[6], next = mmio_base;
    int rp, sec, pcie;

    /* The pxb-cxl root bus number is the pxb's bus_nr; firmware does not
     * tell us, so scan for QEMU's CXL root port (devfn 0 on that bus). */
    rp = find_root_port(rp_bus_hint);
    if (rp < 0) {
        kputs("ERROR no CXL root port (8086:7075) found\n");
        return -1;
    }
    sec = rp + 1;
    c->rp_bus = rp;
    c->bus = sec;
    pcie = pci_find_cap(rp, 0, 0, 0x10);
    c->rp_port = pcie ? (int)(pci_rd32(rp, 0, 0, pcie + 0x0C) >> 24) : 0;
    kprintf("INFO cxl root port at %02x:00.0 port %d (SeaBIOS left sec=%d sub=%d)\n",
            rp, c->rp_port, pci_rd8(rp, 0, 0, 0x19), pci_rd8(rp, 0, 0, 0x1A));

    /* Bus numbers: config cycles for bus 'sec' are then routed below the RP. */
    pci_wr16(rp, 0, 0, PCI_COMMAND, 0);
    pci_wr8(rp, 0, 0, 0x18, rp);
    pci_wr8(rp, 0, 0, 0x19, sec);
    pci_wr8(rp, 0, 0, 0x1A, sec);

    uint32_t id = pci_rd32(sec, 0, 0, 0);
    if ((id & 0xFFFF) != CXL_T3_VID || (id >> 16) != CXL_T3_DID) {
        kprintf("ERROR no cxl-type3 at %02x:00.0 (id %08x)\n", sec, id);
        return -1;
    }
    kprintf("INFO cxl-type3 at %02x:00.0 class %06x\n", sec, pci_rd32(sec, 0, 0, 8) >> 8);

    pci_wr16(sec, 0, 0, PCI_COMMAND, 0);        /* no decode while moving BARs */
    assign_bars(sec, 0, 0, &next, bars);
    /* Register Locator DVSEC (extended config space) would name the BARs;
     * QEMU fixes component registers at BAR0 and device registers at BAR2. */
    c->bar0 = bars[0];
    c->bar2 = bars[2];
    if (!c->bar0 || !c->bar2) {
        kputs("ERROR type3 BAR0/BAR2 missing\n");
        return -1;
    }

    /* Root port: non-prefetchable window over the BARs (1 MiB units), the
     * prefetchable and I/O windows closed (base > limit). */
    uint64_t wend = (next + 0xFFFFF) & ~0xFFFFFull;
    pci_wr16(rp, 0, 0, 0x20, (uint16_t)((mmio_base >> 16) & 0xFFF0));
    pci_wr16(rp, 0, 0, 0x22, (uint16_t)(((wend - 1) >> 16) & 0xFFF0));
    pci_wr16(rp, 0, 0, 0x24, 0xFFF0);
    pci_wr16(rp, 0, 0, 0x26, 0x0000);
    pci_wr32(rp, 0, 0, 0x28, 0xFFFFFFFF);
    pci_wr32(rp, 0, 0, 0x2C, 0);
    pci_wr8(rp, 0, 0, 0x1C, 0xF0);
    pci_wr8(rp, 0, 0, 0x1D, 0x00);
    pci_wr16(rp, 0, 0, PCI_COMMAND, PCI_CMD_MEM | PCI_CMD_MASTER);
    pci_wr16(sec, 0, 0, PCI_COMMAND, PCI_CMD_MEM | PCI_CMD_MASTER);
    kprintf("INFO root port window 0x%lx-0x%lx\n", mmio_base, wend - 1);

    /* Device capability array (CXL r3.1 8.2.8.1): find the device status
     * (ID 1) and primary mailbox (ID 2) register blocks. */
    uint64_t cap = rd64(c->bar2);
    int ncap = (int)((cap >> 32) & 0xFFFF);
    for (int i = 1; i <= ncap; i++) {
        uint64_t h = c->bar2 + 0x10 * i;
        uint16_t cid = rd32(h) & 0xFFFF;
        uint64_t off = rd32(h + 4);
        if (cid == 1)
            devstat_base = c->bar2 + off;
        else if (cid == 2)
            mbox_base = c->bar2 + off;
    }
    if (!mbox_base || !devstat_base) {
        kprintf("ERROR device capability array: %d caps, no mailbox\n", ncap);
        return -1;
    }
    kprintf("INFO mailbox at BAR2+0x%lx, payload %u bytes\n", mbox_base - c->bar2,
            1u << (rd32(mbox_base) & 0x1F));
    return 0;
}

/* ---- Mailbox (CXL r3.1 8.2.8.4) --------------------------------------- */

#define MB_CTRL     0x04        /* bit 0 doorbell; 4-byte access */
#define MB_CMD      0x08        /* opcode[15:0], length[36:16]; 8-byte write */
#define MB_STS      0x10        /* return code [47:32] */
#define MB_PAYLOAD  0x20

int mbox_cmd(struct cxl_dev *d, uint16_t opcode, const void *in, uint32_t in_len,
             void *out, uint32_t out_max, uint32_t *out_len)
{
    const uint8_t *src = in;
    uint8_t *dst = out;
    uint64_t deadline;
    (void)d;

    if (rd32(mbox_base + MB_CTRL) & 1)
        return -1;
    for (uint32_t i = 0; i < in_len; i += 4) {
        uint32_t w = 0;
        memcpy(&w, src + i, in_len - i < 4 ? in_len - i : 4);
        wr32(mbox_base + MB_PAYLOAD + i, w);
    }
    wr64(mbox_base + MB_CMD, opcode | ((uint64_t)in_len << 16));
    wr32(mbox_base + MB_CTRL, 1);

    /* QEMU runs the command synchronously inside the doorbell write, but a
     * real device need not: wait for the doorbell to clear. */
    deadline = rdtsc() + 1000 * tsc_khz;
    while (rd32(mbox_base + MB_CTRL) & 1)
        if (rdtsc() > deadline)
            return -1;

    int rc = (int)((rd64(mbox_base + MB_STS) >> 32) & 0xFFFF);
    uint32_t len = (uint32_t)((rd64(mbox_base + MB_CMD) >> 16) & 0x1FFFFF);
    if (len > out_max)
        len = out_max;
    for (uint32_t i = 0; i < len; i += 4) {
        uint32_t w = rd32(mbox_base + MB_PAYLOAD + i);
        memcpy(dst + i, &w, len - i < 4 ? len - i : 4);
    }
    if (out_len)
        *out_len = len;
    return rc;
}

/* ---- Dynamic capacity ------------------------------------------------- */

#define OP_GET_EVENT_RECORDS    0x0100
#define OP_CLEAR_EVENT_RECORDS  0x0101
#define OP_GET_DC_CONFIG        0x4800
#define OP_GET_DC_EXTENT_LIST   0x4801
#define OP_ADD_DC_RESPONSE      0x4802
#define OP_RELEASE_DC           0x4803

#define LOG_DC                  4

static uint8_t pl[2048] __attribute__((aligned(8)));   /* payload scratch */

static uint64_t get64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }
static uint32_t get32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint16_t get16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }
static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }

int dc_get_config(struct cxl_dev *d, struct dc_region *r, int *nr)
{
    uint8_t in[2] = { DC_MAX_REGIONS, 0 };
    uint32_t len;
    int rc = mbox_cmd(d, OP_GET_DC_CONFIG, in, 2, pl, sizeof(pl), &len);

    if (rc)
        return rc;
    /* header {u8 num_regions; u8 returned; u8 rsvd[6]}, then 0x28-byte records */
    int n = pl[1];
    for (int i = 0; i < n && i < DC_MAX_REGIONS; i++) {
        const uint8_t *rec = pl + 8 + 0x28 * i;
        r[i].base = get64(rec);
        r[i].decode_len = get64(rec + 8) * (256ull << 20);
        r[i].len = get64(rec + 16);
        r[i].block_size = get64(rec + 24);
    }
    *nr = n;
    return 0;
}

int dc_event_pending(struct cxl_dev *d)
{
    (void)d;
    return (rd64(devstat_base) >> LOG_DC) & 1;
}

/* DC event record (CXL r3.1 Table 8-50): 0x30-byte common header, then
 * type@0x30, flags@0x35 (bit 0 = More), extent@0x38 {dpa, len, tag[16],
 * shared_seq}. */
static const uint8_t dc_event_uuid[16] = {
    0xca, 0x95, 0xaf, 0xa7, 0xf1, 0x83, 0x40, 0x18,
    0x8c, 0x2f, 0x95, 0x26, 0x8e, 0x10, 0x1a, 0x2a,
};

static const char *const dc_event_name[] = {
    "add", "release", "forced-release", "region-config", "add-rsp", "released",
};

int dc_read_records(struct cxl_dev *d, struct dc_record *r, int max, int stop_at_end)
{
    uint8_t log = LOG_DC, clr[6 + 2 * DC_MAX_RECORDS];
    uint32_t len;
    int nr, consumed = 0, n = 0;

    if (max > DC_MAX_RECORDS)
        max = DC_MAX_RECORDS;
    int rc = mbox_cmd(d, OP_GET_EVENT_RECORDS, &log, 1, pl, sizeof(pl), &len);
    if (rc) {
        kprintf("ERROR Get Event Records rc=%d\n", rc);
        return -1;
    }
    nr = get16(pl + 0x14);
    if (pl[0] & 1)
        kprintf("WARN DC event log overflowed, %u records lost\n", get16(pl + 2));

    for (int i = 0; i < nr && consumed < max; i++) {
        const uint8_t *rec = pl + 0x20 + 0x80 * i;
        uint16_t handle = get16(rec + 0x14);
        int t = rec[0x30], more = rec[0x35] & 1;
        uint64_t dpa = get64(rec + 0x38), elen = get64(rec + 0x40);

        memcpy(clr + 6 + 2 * consumed, &handle, 2);
        consumed++;
        int is_dc = 1;
        for (int k = 0; k < 16; k++)
            if (rec[k] != dc_event_uuid[k])
                is_dc = 0;
        if (!is_dc) {
            kputs("WARN non-DC record in the DC log, ignored\n");
            continue;
        }
        kprintf("EVENT %s dpa=0x%lx len=0x%lx more=%d tag=",
                t < 6 ? dc_event_name[t] : "?", dpa, elen, more);
        print_uuid(rec + 0x48);
        kputs("\n");
        r[n].type = t;
        r[n].more = more;
        r[n].e.dpa = dpa;
        r[n].e.len = elen;
        memcpy(r[n].e.tag, rec + 0x48, 16);
        r[n].e.shared_seq = get16(rec + 0x58);
        n++;
        if (stop_at_end && !more)
            break;
    }
    if (!consumed)                              /* status raced ahead */
        return 0;

    /* Clear exactly the records we consumed, oldest first. */
    clr[0] = LOG_DC;
    clr[1] = 0;
    clr[2] = (uint8_t)consumed;
    clr[3] = clr[4] = clr[5] = 0;
    rc = mbox_cmd(d, OP_CLEAR_EVENT_RECORDS, clr, 6 + 2 * consumed, 0, 0, 0);
    if (rc) {
        kprintf("ERROR Clear Event Records rc=%d\n", rc);
        return -1;
    }
    return n;
}

int dc_wait_group(struct cxl_dev *d, int type, struct dc_extent *e, int max,
                  uint64_t timeout_ms)
{
    uint64_t deadline = rdtsc() + timeout_ms * tsc_khz;
    struct dc_record r[DC_MAX_RECORDS];
    int n = 0;

    while (rdtsc() < deadline) {
        if (!dc_event_pending(d)) {
            /* Polling is cheap but each MMIO read takes QEMU's BQL; back off
             * so the QMP monitor can get in. */
            delay_ms(1);
            continue;
        }
        /* Stop reading at the end of a group, so that records after it stay
         * in the log for the next caller. */
        int nr = dc_read_records(d, r, DC_MAX_RECORDS, 1);
        if (nr < 0)
            return -1;
        if (!nr) {
            delay_ms(1);
            continue;
        }
        for (int i = 0; i < nr; i++) {
            if (r[i].type != type) {
                kputs("WARN unexpected DC event type, ignored\n");
                continue;
            }
            if (n < max)
                e[n++] = r[i].e;
            if (!r[i].more)
                return n;
        }
    }
    return -1;
}

/* Add DC Response / Release DC input: {u32 n; u8 flags; u8 rsvd[3];
 * {u64 dpa; u64 len; u8 rsvd[8]} x n}. */
static int dc_update(struct cxl_dev *d, uint16_t op, const struct dc_extent *e, int n)
{
    static uint8_t in[8 + 24 * DC_MAX_EXTENTS];

    memset(in, 0, sizeof(in));
    put32(in, (uint32_t)n);
    for (int i = 0; i < n; i++) {
        put64(in + 8 + 24 * i, e[i].dpa);
        put64(in + 16 + 24 * i, e[i].len);
    }
    return mbox_cmd(d, op, in, 8 + 24 * n, 0, 0, 0);
}

int dc_add_response(struct cxl_dev *d, const struct dc_extent *e, int n)
{
    /* n == 0 would decline the whole offer (and crashes 10.2.2 if nothing is
     * pending); this guest always accepts. */
    return n > 0 ? dc_update(d, OP_ADD_DC_RESPONSE, e, n) : -1;
}

int dc_release(struct cxl_dev *d, const struct dc_extent *e, int n)
{
    return n > 0 ? dc_update(d, OP_RELEASE_DC, e, n) : -1;
}

int dc_get_extent_list(struct cxl_dev *d, struct dc_extent *e, int max, int *total)
{
    uint8_t in[8];
    uint32_t len;

    put32(in, (uint32_t)max);
    put32(in + 4, 0);
    int rc = mbox_cmd(d, OP_GET_DC_EXTENT_LIST, in, 8, pl, sizeof(pl), &len);
    if (rc)
        return -rc;
    /* {u32 count; u32 total; u32 generation; u8 rsvd[4]; 0x28-byte extents} */
    int n = (int)get32(pl);
    *total = (int)get32(pl + 4);
    for (int i = 0; i < n && i < max; i++) {
        const uint8_t *x = pl + 16 + 0x28 * i;
        e[i].dpa = get64(x);
        e[i].len = get64(x + 8);
        memcpy(e[i].tag, x + 16, 16);
        e[i].shared_seq = get16(x + 32);
    }
    return n < max ? n : max;
}

/* ---- HDM decoders (CXL r3.1 8.2.4.20) --------------------------------- */

int hdm_commit(uint64_t comp, uint64_t hpa, uint64_t size, int target)
{
    uint64_t cm = comp + 0x1000;        /* CXL.cachemem primary range */
    uint64_t hdm = 0;
    uint64_t deadline;

    /* Capability header array: entry 0 holds the count in bits 31:24, each
     * entry has ID[15:0] and a pointer in [31:20].  HDM decoder cap = 5. */
    int ncap = (int)(rd32(cm) >> 24);
    for (int i = 1; i <= ncap; i++) {
        uint32_t h = rd32(cm + 4 * i);
        if ((h & 0xFFFF) == 5)
            hdm = cm + (h >> 20);
    }
    if (!hdm) {
        kputs("ERROR no HDM decoder capability\n");
        return -1;
    }

    /* 4-byte accesses only: QEMU drops 8-byte writes to these registers. */
    wr32(hdm + 0x04, rd32(hdm + 0x04) | 2);             /* HDM Decoder Enable */
    wr32(hdm + 0x20, 0);                                /* uncommit if needed */
    wr32(hdm + 0x10, (uint32_t)hpa);
    wr32(hdm + 0x14, (uint32_t)(hpa >> 32));
    wr32(hdm + 0x18, (uint32_t)size);
    wr32(hdm + 0x1C, (uint32_t)(size >> 32));
    /* +0x24/+0x28: DPA skip on an endpoint, target list on a port */
    wr32(hdm + 0x24, target >= 0 ? (uint32_t)target : 0);
    wr32(hdm + 0x28, 0);
    /* IG=0 (256 B), IW=0 (1 way), COMMIT, TYPE=1 (host-only coherent) */
    wr32(hdm + 0x20, (1u << 9) | (1u << 12));

    deadline = rdtsc() + 100 * tsc_khz;
    while (!(rd32(hdm + 0x20) & (1u << 10)))
        if (rdtsc() > deadline) {
            kprintf("ERROR HDM decoder at 0x%lx did not commit (ctrl %08x)\n",
                    hdm + 0x20, rd32(hdm + 0x20));
            return -1;
        }
    return 0;
}

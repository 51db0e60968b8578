/* PCI enumeration, CXL type 3 mailbox and HDM decoder programming. */
#ifndef GUEST_CXL_H
#define GUEST_CXL_H

#include <stdint.h>

/* PCI config space through the legacy 0xCF8/0xCFC mechanism. */
uint32_t pci_rd32(int bus, int dev, int fn, int off);
uint16_t pci_rd16(int bus, int dev, int fn, int off);
uint8_t pci_rd8(int bus, int dev, int fn, int off);
void pci_wr32(int bus, int dev, int fn, int off, uint32_t v);
void pci_wr16(int bus, int dev, int fn, int off, uint16_t v);
void pci_wr8(int bus, int dev, int fn, int off, uint8_t v);

struct cxl_dev {
    int rp_bus;             /* root port: bus rp_bus, devfn 0 */
    int rp_port;            /* its port number (Link Capabilities 31:24) */
    int bus;                /* the type3 sits at bus:00.0 */
    uint64_t bar0;          /* component registers (HDM decoders) */
    uint64_t bar2;          /* device registers (mailbox) */
};

/* Finds the CXL root port (scanning from rp_bus_hint, or all buses if <0),
 * programs it and the type3 below, assigning BARs from mmio_base. */
int cxl_setup(struct cxl_dev *d, int rp_bus_hint, uint64_t mmio_base);

/* One mailbox command: returns the CXL return code (0 = success), or -1 if
 * the doorbell never cleared.  *out_len gets the output payload length. */
int mbox_cmd(struct cxl_dev *d, uint16_t opcode, const void *in, uint32_t in_len,
             void *out, uint32_t out_max, uint32_t *out_len);

/* Dynamic capacity (CXL r3.1 8.2.9.9.9). */
struct dc_region {
    uint64_t base, decode_len, len, block_size;
};

struct dc_extent {
    uint64_t dpa, len;
    uint8_t tag[16];
    uint16_t shared_seq;
};

#define DC_MAX_REGIONS 8
#define DC_MAX_EXTENTS 16

int dc_get_config(struct cxl_dev *d, struct dc_region *r, int *nr);

/* One DC event record (CXL r3.1 Table 8-50): type 0 = add, 1 = release,
 * 2 = forced release, ...; more = the "More" flag (the group continues). */
struct dc_record {
    int type, more;
    struct dc_extent e;
};

#define DC_MAX_RECORDS 15       /* per Get Event Records: 2 KiB payload */

/* Event Status bit 4: the DC event log is not empty. */
int dc_event_pending(struct cxl_dev *d);

/* One Get Event Records on the DC log: returns up to max DC records in r[]
 * (printing an EVENT line for each) and clears them; with stop_at_end the
 * batch ends after the first record whose More flag is clear and later
 * records stay in the log.  Returns the count (0: none), or -1. */
int dc_read_records(struct cxl_dev *d, struct dc_record *r, int max, int stop_at_end);

/* Reads (and clears) DC event records until one complete group of the given
 * type (0 = add, 1 = release) has been collected (the "More" flag of the
 * last record is clear) or timeout_ms passes.  Returns extents found or -1. */
int dc_wait_group(struct cxl_dev *d, int type, struct dc_extent *e, int max,
                  uint64_t timeout_ms);

int dc_add_response(struct cxl_dev *d, const struct dc_extent *e, int n);
int dc_release(struct cxl_dev *d, const struct dc_extent *e, int n);
int dc_get_extent_list(struct cxl_dev *d, struct dc_extent *e, int max, int *total);

/* Program and commit HDM decoder 0 (IW=0, IG=0) of a component register
 * block; target is the downstream port for a host bridge / switch decoder
 * (ignored by a type3).  Returns 0 once COMMITTED reads back as set. */
int hdm_commit(uint64_t comp_regs, uint64_t hpa, uint64_t size, int target);

#endif

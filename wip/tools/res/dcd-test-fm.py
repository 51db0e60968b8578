#!/usr/bin/env python3
"""cxl-dcd-test.c gets a fabric manager case (patch 1: the first user of
the switch helpers of libqos)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import foldres  # noqa: E402

s = sys.stdin.read()
if 'test_dcd_fm' in s:
    sys.stdout.write(s)
    sys.exit(0)


def sub(old, new):
    global s
    s = foldres.sub(s, old, new)


sub('#include "libqos/cxl.h"\n',
    '#include "libqos/cxl.h"\n#include "libqos/cxl-switch.h"\n')
sub('''    "-M cxl-fmw.0.targets.0=cxl.0,cxl-fmw.0.size=4G"

typedef struct DCDTest {
    QTestState *qts;
    QCXLGuest *g;
''', '''    "-M cxl-fmw.0.targets.0=cxl.0,cxl-fmw.0.size=4G"

/* The same device below a switch, whose mailbox CCI the FM uses */
#define DCD_SWITCH_CMDLINE \\
    "-machine q35,cxl=on " \\
    "-object memory-backend-file,id=dc0,size=512M,mem-path=%s,share=on " \\
    "-device pxb-cxl,id=cxl.0,bus=pcie.0,bus_nr=52 " \\
    "-device cxl-rp,id=rp0,bus=cxl.0,port=0,chassis=0,slot=0 " \\
    "-device cxl-upstream,id=us0,bus=rp0,addr=0.0,multifunction=on " \\
    "-device cxl-switch-mailbox-cci,id=swcci0,bus=rp0,addr=0.1,target=us0 " \\
    "-device cxl-downstream,id=ds0,bus=us0,port=3,chassis=0,slot=4 " \\
    "-device cxl-type3,bus=ds0,id=dcd0,num-dc-regions=2," \\
    "volatile-dc-memdev=dc0 " \\
    "-M cxl-fmw.0.targets.0=cxl.0,cxl-fmw.0.size=4G"

typedef struct DCDTest {
    QTestState *qts;
    QCXLGuest *g;
    /* set when the device is below a switch */
    QCXLSwitch *sw;
''')
sub('''static DCDTest *dcd_start(void)
{
    DCDTest *t = g_new0(DCDTest, 1);
    g_autoptr(GError) err = NULL;

    t->fd = g_file_open_tmp("cxl-dcd-XXXXXX", &t->file, &err);
    g_assert_no_error(err);
    g_assert_cmpint(ftruncate(t->fd, DCD_DC_SIZE), ==, 0);

    t->qts = qtest_initf(DCD_CMDLINE, t->file);
    t->g = qcxl_guest_new(t->qts, DCD_BUS_NR);
    return t;
}

static void dcd_stop(DCDTest *t)
{
    qcxl_guest_free(t->g);
''', '''static DCDTest *dcd_start_with(const char *cmdline, bool below_switch)
{
    DCDTest *t = g_new0(DCDTest, 1);
    g_autoptr(GError) err = NULL;

    t->fd = g_file_open_tmp("cxl-dcd-XXXXXX", &t->file, &err);
    g_assert_no_error(err);
    g_assert_cmpint(ftruncate(t->fd, DCD_DC_SIZE), ==, 0);

    t->qts = qtest_initf(cmdline, t->file);
    if (below_switch) {
        t->sw = qcxl_switch_new(t->qts, DCD_BUS_NR);
        t->g = t->sw->t3;
    } else {
        t->g = qcxl_guest_new(t->qts, DCD_BUS_NR);
    }
    return t;
}

static DCDTest *dcd_start(void)
{
    return dcd_start_with(DCD_CMDLINE, false);
}

static void dcd_stop(DCDTest *t)
{
    if (t->sw) {
        qcxl_switch_free(t->sw);
    } else {
        qcxl_guest_free(t->g);
    }
''')
sub('''int main(int argc, char **argv)
{''', '''/* The fabric manager adds and releases capacity through the switch CCI */
static void test_dcd_fm(void)
{
    DCDTest *t = dcd_start_with(DCD_SWITCH_CMDLINE, true);
    const QCXLExtent ext = {
        .start_dpa = dcd_region_dpa(1) + 32 * MiB,
        .len = 64 * MiB,
    };
    const QCXLRange dpa = { ext.start_dpa, ext.len };
    g_autoptr(GArray) offer = NULL;
    g_autoptr(GArray) events = NULL;
    GArray *fm_list;
    QCXLDCEvent *ev;

    qcxl_switch_commit_decoders(t->sw, DCD_DC_SIZE);
    g_assert_cmphex(qcxl_fm_dc_add(t->sw, 1, &ext, 1), ==,
                    QCXL_MBOX_SUCCESS);
    offer = qcxl_dc_accept_group(t->g);
    g_assert_cmpuint(offer->len, ==, 1);
    assert_extent(&g_array_index(offer, QCXLExtent, 0), dpa.start, dpa.len);
    assert_accepted(t, &dpa, 1);
    fm_list = qcxl_fm_list_extents(t->sw);
    g_assert_cmpuint(fm_list->len, ==, 1);
    assert_extent(&g_array_index(fm_list, QCXLExtent, 0), dpa.start, dpa.len);
    g_array_unref(fm_list);
    assert_backed(t, dpa.start, dpa.len);
    assert_unbacked(t, dpa.start - DCD_BLOCK_SIZE);

    g_assert_cmphex(qcxl_fm_dc_release(t->sw, 1, &ext, 1), ==,
                    QCXL_MBOX_SUCCESS);
    events = qcxl_dc_collect_events(t->g);
    g_assert_cmpuint(events->len, ==, 1);
    ev = &g_array_index(events, QCXLDCEvent, 0);
    g_assert_cmpuint(ev->type, ==, QCXL_DC_EVENT_RELEASE_CAPACITY);
    assert_extent(&ev->extent, dpa.start, dpa.len);
    g_assert_cmphex(qcxl_dc_release(t->g, &ev->extent, 1), ==,
                    QCXL_MBOX_SUCCESS);
    assert_accepted(t, NULL, 0);
    fm_list = qcxl_fm_list_extents(t->sw);
    g_assert_cmpuint(fm_list->len, ==, 0);
    g_array_unref(fm_list);
    assert_unbacked(t, dpa.start);

    dcd_stop(t);
}

int main(int argc, char **argv)
{''')
sub('''    qtest_add_func("/cxl/dcd/mailbox-errors", test_dcd_mailbox_errors);
''', '''    qtest_add_func("/cxl/dcd/mailbox-errors", test_dcd_mailbox_errors);
    qtest_add_func("/cxl/dcd/fm", test_dcd_fm);
''')
sys.stdout.write(s)

#!/usr/bin/env python3
"""Sanitize keeps the Dynamic Capacity event log (a Part 1 fix, taken out
of "hw/cxl: leave no DC extent stuck between offer and answer").
Argument: which file (events, header, mbox, test)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import foldres  # noqa: E402

kind = sys.argv[1]
text = sys.stdin.read()


def sub(old, new):
    global text
    text = foldres.sub(text, old, new, kind)


if kind == 'events':
    sub('''void cxl_discard_all_event_records(CXLDeviceState *cxlds)
{
    CXLEventLogType log_type;
    CXLEventLog *log;

    for (log_type = 0; log_type < CXL_EVENT_TYPE_MAX; log_type++) {
        log = &cxlds->event_logs[log_type];
        while (!cxl_event_empty(log)) {
            cxl_event_delete_head(cxlds, log_type, log);
        }
    }
}
''', '''void cxl_discard_event_log(CXLDeviceState *cxlds, CXLEventLogType log_type)
{
    CXLEventLog *log = &cxlds->event_logs[log_type];

    QEMU_LOCK_GUARD(&log->lock);
    while (!cxl_event_empty(log)) {
        cxl_event_delete_head(cxlds, log_type, log);
    }
}

void cxl_discard_all_event_records(CXLDeviceState *cxlds)
{
    CXLEventLogType log_type;

    for (log_type = 0; log_type < CXL_EVENT_TYPE_MAX; log_type++) {
        cxl_discard_event_log(cxlds, log_type);
    }
}
''')
elif kind == 'header':
    sub('void cxl_discard_all_event_records(CXLDeviceState *cxlds);\n',
        'void cxl_discard_all_event_records(CXLDeviceState *cxlds);\n'
        'void cxl_discard_event_log(CXLDeviceState *cxlds, '
        'CXLEventLogType log_type);\n')
elif kind == 'mbox':
    sub('''static void __do_sanitization(CXLType3Dev *ct3d)
{
    MemoryRegion *mr;
''', '''static void __do_sanitization(CXLType3Dev *ct3d)
{
    CXLEventLogType log_type;
    MemoryRegion *mr;
''')
    sub('''    }
    cxl_discard_all_event_records(&ct3d->cxl_dstate);
}
''', '''    }
    /*
     * Dynamic capacity is not sanitized here and its offers and release
     * requests stay outstanding: keep their records for the host.
     */
    for (log_type = 0; log_type < CXL_EVENT_TYPE_MAX; log_type++) {
        if (log_type != CXL_EVENT_TYPE_DYNAMIC_CAP) {
            cxl_discard_event_log(&ct3d->cxl_dstate, log_type);
        }
    }
}
''')
elif kind == 'test':
    sub('#include "qemu/bswap.h"\n',
        '#include "qemu/bswap.h"\n#include "qemu/timer.h"\n')
    sub('''/*
 * An extent of length 0 is a malformed extent list,''', '''/*
 * Sanitize clears the media, not dynamic capacity: an offer made before it
 * is still pending after it, so its records must still be in the DC event
 * log.  Before, Sanitize emptied every event log: the host never heard of
 * the offer, which stayed pending for good.
 */
static void test_sanitize_keeps_dc_log(void)
{
    MBTest *t = mb_start();
    g_autofree QCXLExtent *ext = mb_extents(t, 0, 2);
    g_autoptr(GArray) accepted = NULL;
    QCXLDCEvent ev[QCXL_EVENTS_PER_PAYLOAD];

    g_assert_cmphex(qcxl_fm_dc_add(t->sw, 0, ext, 2), ==, QCXL_MBOX_SUCCESS);
    g_assert_cmphex(qcxl_mbox_cmd(t->g, QCXL_OP_SANITIZE, NULL, 0, NULL, 0,
                                  NULL), ==, QCXL_MBOX_BG_STARTED);
    qtest_clock_step(t->qts, 60 * NANOSECONDS_PER_SECOND);

    assert_dc_get(t, 2, 0, ev);
    assert_same_extent(&ev[0].extent, &ext[0]);
    assert_same_extent(&ev[1].extent, &ext[1]);
    g_assert_cmphex(qcxl_dc_add_response(t->g, ext, 2), ==,
                    QCXL_MBOX_SUCCESS);
    accepted = qcxl_dc_list_extents(t->g);
    g_assert_cmpuint(accepted->len, ==, 2);

    mb_stop(t);
}

/*
 * An extent of length 0 is a malformed extent list,''')
    sub('''    qtest_add_func("/cxl/dcd-mbox/zero-length-extent",''',
        '''    qtest_add_func("/cxl/dcd-mbox/sanitize-keeps-dc-log",
                   test_sanitize_keeps_dc_log);
    qtest_add_func("/cxl/dcd-mbox/zero-length-extent",''')
sys.stdout.write(text)

#!/usr/bin/env python3
"""Clear All Events of Clear Event Records (a Part 1 fix, taken out of
"hw/cxl: leave no DC extent stuck between offer and answer").
Argument: which file (events, events-h, test)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import foldres  # noqa: E402

kind = sys.argv[1]
text = sys.stdin.read()


def sub(old, new):
    global text
    text = foldres.sub(text, old, new, kind)


BLOCK = '''    QEMU_LOCK_GUARD(&log->lock);
    /*
     * "Clear All Events is only allowed when the Event Log has overflowed"
     *   -- CXL r3.1 Table 8-54%s
     */
    if (pl->clear_flags & CXL_EVENT_CLEAR_ALL) {
        if (!log->overflow_err_count) {
            return CXL_MBOX_INVALID_INPUT;
        }
        while (!cxl_event_empty(log)) {
            cxl_event_delete_head(cxlds, log_type, log);
        }
        return CXL_MBOX_SUCCESS;
    }
    /*
     * Must iterate the queue twice.'''
# once the DC log is sized for every extent (events), it cannot overflow;
# before (events-early), it can, like any other
NEVER_OVERFLOWS = '''.  The Dynamic Capacity log never overflows
     * (requests need room for their records), so the records of offers
     * and release requests the host has not answered are never lost.'''

if kind in ('events', 'events-early'):
    sub('''    QEMU_LOCK_GUARD(&log->lock);
    /*
     * Must iterate the queue twice.''',
        BLOCK % (NEVER_OVERFLOWS if kind == 'events' else ''))
elif kind == 'events-h':
    sub(''' * CXL r3.1 section 8.2.9.2.3; Table 8-54
 */
typedef struct CXLClearEventPayload {''', ''' * CXL r3.1 section 8.2.9.2.3; Table 8-54
 */
#define CXL_EVENT_CLEAR_ALL BIT(0)
typedef struct CXLClearEventPayload {''')
elif kind == 'test':
    sub('''/*
 * An extent of length 0 is a malformed extent list,''', '''static void mb_inject_info_event(MBTest *t)
{
    QDict *rsp = qtest_qmp(t->qts,
        "{'execute': 'cxl-inject-general-media-event', 'arguments': {"
        " 'path': '/machine/peripheral/dcd0', 'log': 'informational',"
        " 'flags': 0, 'dpa': 0, 'descriptor': 0, 'type': 0,"
        " 'transaction-type': 0 } }");

    g_assert_true(qdict_haskey(rsp, "return"));
    qobject_unref(rsp);
}

/* Records in the informational event log, and whether it overflowed */
static uint16_t mb_info_records(MBTest *t, bool *overflow)
{
    uint8_t in = MB_EVENT_LOG_INFO;
    uint8_t out[QCXL_MBOX_PAYLOAD_MAX];

    g_assert_cmphex(qcxl_mbox_cmd(t->g, QCXL_OP_GET_EVENT_RECORDS, &in, 1,
                                  out, sizeof(out), NULL),
                    ==, QCXL_MBOX_SUCCESS);
    *overflow = out[0] & MB_EVENT_FLAG_OVERFLOW;
    return lduw_le_p(out + MB_EVENT_RECORD_COUNT);
}

static uint16_t mb_clear_all(MBTest *t)
{
    uint8_t in[6] = { MB_EVENT_LOG_INFO, MB_CLEAR_ALL_EVENTS };

    return qcxl_mbox_cmd(t->g, QCXL_OP_CLEAR_EVENT_RECORDS, in, sizeof(in),
                         NULL, 0, NULL);
}

/*
 * Clear All Events clears a log that has overflowed and is Invalid Input
 * on any other (CXL r3.1 Table 8-54).  Before, the flag was ignored: the
 * command cleared nothing, and succeeded.
 */
static void test_clear_all_events(void)
{
    MBTest *t = mb_start();
    bool overflow;
    int i;

    mb_inject_info_event(t);
    g_assert_cmpuint(mb_info_records(t, &overflow), ==, 1);
    g_assert_false(overflow);
    g_assert_cmphex(mb_clear_all(t), ==, QCXL_MBOX_INVALID_INPUT);
    g_assert_cmpuint(mb_info_records(t, &overflow), ==, 1);

    for (i = 0; i < MB_LOG_RECORDS; i++) {
        mb_inject_info_event(t);
    }
    g_assert_cmpuint(mb_info_records(t, &overflow), ==, MB_LOG_RECORDS);
    g_assert_true(overflow);
    g_assert_cmphex(mb_clear_all(t), ==, QCXL_MBOX_SUCCESS);
    g_assert_cmpuint(mb_info_records(t, &overflow), ==, 0);
    g_assert_false(overflow);

    mb_stop(t);
}

/*
 * An extent of length 0 is a malformed extent list,''')
    sub('''#define MB_LOG_RECORDS      8       /* records an event log holds */
''', '''#define MB_LOG_RECORDS      8       /* records an event log holds */
/* Get and Clear Event Records: log, flags, where the count is */
#define MB_EVENT_LOG_INFO       0
#define MB_EVENT_FLAG_OVERFLOW  BIT(0)
#define MB_EVENT_RECORD_COUNT   20
#define MB_CLEAR_ALL_EVENTS     BIT(0)
''')
    sub('''    qtest_add_func("/cxl/dcd-mbox/zero-length-extent",''',
        '''    qtest_add_func("/cxl/dcd-mbox/clear-all-events",
                   test_clear_all_events);
    qtest_add_func("/cxl/dcd-mbox/zero-length-extent",''')
sys.stdout.write(text)

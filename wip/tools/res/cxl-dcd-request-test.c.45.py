# old 45: a release the host was already asked for cannot be asked again
text = replace1(text, '''    /*
     * A release the dry run accepts, several times: each asks the host to
     * release the extent and changes nothing until it does
     */
    for (i = 0; i < 3; i++) {
        g_autoptr(GArray) rel = NULL;

        g_assert_cmphex(qcxl_fm_dc_release(t->sw, 0, &acc, 1), ==,
                        QCXL_MBOX_SUCCESS);
        rel = qcxl_dc_take_group(t->g, QCXL_DC_EVENT_RELEASE_CAPACITY);
        g_assert_cmpuint(rel->len, ==, 1);
    }
''', '''    /*
     * A release the dry run accepts asks the host to release the extent
     * and changes nothing until it does; asking again meanwhile is refused
     * and sends nothing
     */
    g_assert_cmphex(qcxl_fm_dc_release(t->sw, 0, &acc, 1), ==,
                    QCXL_MBOX_SUCCESS);
    rel = qcxl_dc_take_group(t->g, QCXL_DC_EVENT_RELEASE_CAPACITY);
    g_assert_cmpuint(rel->len, ==, 1);
    for (i = 0; i < 2; i++) {
        g_assert_cmphex(qcxl_fm_dc_release(t->sw, 0, &acc, 1), ==,
                        QCXL_MBOX_INVALID_INPUT);
        g_assert_false(qcxl_dc_event_pending(t->g));
    }
''')
text = replace1(text, '''    g_autoptr(GArray) list = NULL;
    size_t i;

    g_assert_cmphex(qcxl_fm_dc_add(t->sw, 0, &acc, 1), ==,
                    QCXL_MBOX_SUCCESS);
    g_array_unref(qcxl_dc_accept_group(t->g));

    /* Payloads shorter''', '''    g_autoptr(GArray) list = NULL;
    g_autoptr(GArray) rel = NULL;
    size_t i;

    g_assert_cmphex(qcxl_fm_dc_add(t->sw, 0, &acc, 1), ==,
                    QCXL_MBOX_SUCCESS);
    g_array_unref(qcxl_dc_accept_group(t->g));

    /* Payloads shorter''')
# old 45: a release naming pending capacity withdraws the offer
text = replace1(text, '''    /* without Forced Removal the pending extent is refused, as before */
    g_assert_cmphex(qcxl_fm_dc_release(t->sw, 0, &pend, 1), ==,
                    QCXL_MBOX_INVALID_PA);
    g_assert_false(qcxl_dc_event_pending(t->g));
    g_assert_cmphex(qcxl_dc_add_response(t->g, &pend, 1), ==,
                    QCXL_MBOX_SUCCESS);
''', '''    /*
     * without Forced Removal a release of the pending extent withdraws the
     * offer: the host's late answer finds nothing to accept
     */
    g_assert_cmphex(qcxl_fm_dc_release(t->sw, 0, &pend, 1), ==,
                    QCXL_MBOX_SUCCESS);
    g_assert_false(qcxl_dc_event_pending(t->g));
    g_assert_cmphex(qcxl_dc_add_response(t->g, &pend, 1), ==,
                    QCXL_MBOX_INVALID_PA);
    dr_assert_list(t, &acc, 1);
''')

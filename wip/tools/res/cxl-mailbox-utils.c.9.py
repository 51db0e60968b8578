# old 9 hands 5604h/5605h to the QMP paths; part 1's Region/Length check of
# an add and its refusal of Forced Removal stay
blocks = CONFLICT.findall(text)
c0 = blocks[0][0]
c0 = c0[:c0.index('/* CXL r3.2 Section 7.6.7.6.5')]
rel = replace1(blocks[2][1], '''    count = le32_to_cpu(in->ext_count);
    switch''', '''    /*
     * As QMP: capacity only goes when the host releases it.  Refuse rather
     * than send an ordinary release request the FM did not ask for.
     */
    if (in->policy & CXL_FORCED_REMOVAL_MASK) {
        qemu_log_mask(LOG_UNIMP, "CXL: Forced Removal of dynamic capacity "
                      "is not supported\\n");
        return CXL_MBOX_UNSUPPORTED;
    }
    count = le32_to_cpu(in->ext_count);
    switch''')
rel = replace1(rel, '''        /* Forced Removal may release capacity that is still pending */
        rc = cxl_dc_release_capacity(ct3d, extents, count,
                                     !(in->policy & CXL_FORCED_REMOVAL_MASK),
                                     &err);''', '''        rc = cxl_dc_release_capacity(ct3d, extents, count, true, &err);''')
text = pick(text, c0 + '/*\n' + blocks[0][1], 'o', rel)
text = replace1(text, '''        return CXL_MBOX_INVALID_INPUT;
    }
    rc = cxl_dc_add_capacity(ct3d, in->extents, le32_to_cpu(in->ext_count),
                             &err);''', '''        return CXL_MBOX_INVALID_INPUT;
    }
    rc = cxl_fm_dc_add_check_header(ct3d, in->reg_num, ldq_le_p(&in->length),
                                    in->extents, le32_to_cpu(in->ext_count));
    if (rc != CXL_MBOX_SUCCESS) {
        return rc;
    }
    rc = cxl_dc_add_capacity(ct3d, in->extents, le32_to_cpu(in->ext_count),
                             &err);''')

# part 1's header check of an add takes host-order extents
text = pick(text, '''    count = le32_to_cpu(in->ext_count);
    extents = cxl_fm_dc_extents(in, count);
    rc = cxl_fm_dc_add_check_header(ct3d, in->reg_num, ldq_le_p(&in->length),
                                    extents, count);
    if (rc != CXL_MBOX_SUCCESS) {
        return rc;
    }
    rc = cxl_dc_add_capacity(ct3d, extents, count, &err);
''', '''        extents = cxl_fm_dc_extents(in, count);
        rc = cxl_dc_release_capacity(ct3d, extents, count, true, &err);
''')

# part 1 checks Region Number and Length already, on host-order extents
text = pick(text, 'c', 'c', 'c')
text = replace1(text, '''    count = le32_to_cpu(in->ext_count);
    rc = cxl_fm_dc_add_check_header(ct3d, in, count);
    if (rc != CXL_MBOX_SUCCESS) {
        return rc;
    }
    extents''', '''    count = le32_to_cpu(in->ext_count);
    extents''')

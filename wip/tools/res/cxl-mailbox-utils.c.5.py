# old 5 drops the group through a helper that puts backends; keep part 1's
# generation bump and More check
text = pick(text, '''/*
 * Every change of the accepted extent list goes through here: Get DC
 * Extent List (4801h) and Get DC Region Extent List (5603h) report a new
 * Generation Number, so that a reader that pages through the list sees
 * that it changed in between.
 */
void cxl_dc_extent_list_changed(CXLType3Dev *ct3d)
{
    ct3d->dc.ext_list_gen_seq++;
}

CXLDCExtent *cxl_insert_extent_to_extent_list(CXLDCExtentList *list,
                                              uint64_t dpa, uint64_t len,
                                              const uint8_t *tag,
                                              uint16_t shared_seq)
''', 'o', '''        /* the host declines the (rest of the) offer, if there is one */
        if (QTAILQ_EMPTY(&ct3d->dc.extents_pending) ||
            in->flags & CXL_DC_RESPONSE_MORE) {
            return CXL_MBOX_INVALID_INPUT;
        }
        cxl_dc_drop_first_pending_group(ct3d);
''')

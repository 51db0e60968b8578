# old 14 maps and reports accepted extents before the More check; part 1
# already has the More flag and cxl_dc_take_from_offer
text = pick(text, 'o', 'o')
text = replace1(text, '''        cxl_dc_take_from_offer(ct3d, group, offered, dpa, len);
    }
    ct3_dc_update_direct_maps(ct3d, false);
    if (in->flags & CXL_DC_RESPONSE_MORE) {''', '''        cxl_dc_take_from_offer(ct3d, group, offered, dpa, len);
    }
    cxl_dc_extent_list_changed(ct3d);
    ct3_dc_update_direct_maps(ct3d, false);
    if (in->flags & CXL_DC_RESPONSE_MORE) {''')
start = ('/* Add Dynamic Capacity Response flags: more responses to the offer '
         'follow */\n#define CXL_DC_RESPONSE_MORE BIT(0)\n')
i1 = text.index(start)
i2 = text.index(start, i1 + 1)
tail = '    ct3d->dc.total_extent_count--;\n}\n\n'
end = text.index(tail, i2) + len(tail)
assert text[i2:end] == text[i1:i1 + end - i2]
text = text[:i2] + text[end:]

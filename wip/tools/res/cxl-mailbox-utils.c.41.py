# part 1 defines cxl_dc_extent_list_changed earlier in the file
o = CONFLICT.findall(text)[0][1]
text = pick(text, o[o.index('static guint cxl_dc_tag_hash'):])

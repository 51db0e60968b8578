# the tag count of old 4 beside part 1's clamped extent count
text = pick(text, '''    event_rec.extents_avail = cxl_dc_extents_available(ct3d);
    event_rec.tags_avail = cxl_dc_tags_available(ct3d);
''')

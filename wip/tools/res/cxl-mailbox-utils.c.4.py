# old 4's tag count, clamped as part 1 clamps the extent count
text = pick(text, '''/*
 * Accepting part of an offered extent may leave two pieces pending, so
 * the count can briefly exceed what the device tracks.
 */
uint32_t cxl_dc_extents_available(const CXLType3Dev *ct3d)
{
    return CXL_NUM_EXTENTS_SUPPORTED - MIN(ct3d->dc.total_extent_count,
                                           CXL_NUM_EXTENTS_SUPPORTED);
}

/* Tags in use are bounded by the extents pending or accepted. */
uint32_t cxl_dc_tags_available(const CXLType3Dev *ct3d)
{
    return CXL_NUM_TAGS_SUPPORTED - MIN(ct3d->dc.total_extent_count,
                                        CXL_NUM_TAGS_SUPPORTED);
''', 'o')

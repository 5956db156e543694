/** RAM is managed in pages of this many bytes: the unit of allocation, dirtiness and saving. */
export const PAGE_SIZE = 4096;
export const PAGE_SHIFT = 12;

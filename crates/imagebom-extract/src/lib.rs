//! Extraction stage of imagebom: find every image reference in manifest streams.

//! Resolution stage of imagebom: pin image references to digests (lock file, registries).

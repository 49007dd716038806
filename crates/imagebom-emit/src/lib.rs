//! Emit stage of imagebom: CycloneDX 1.6, SPDX 2.3 and markdown outputs.

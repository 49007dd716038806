//! Rendering stage of imagebom: turn recipe components into Kubernetes manifest streams.

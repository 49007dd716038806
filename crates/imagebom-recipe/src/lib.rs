//! Recipe format of imagebom: parse and validate recipes/registry.yaml.

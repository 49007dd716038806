//! OCI image layouts written by hand (the image-spec's format) for skopeo to copy into a
//! [`crate::registry::Registry`]: blobs, image and artifact manifests, indexes and tags.
//!
//! ```no_run
//! use imagebom_testkit::layout::Layout;
//! let mut layout = Layout::new();
//! let image = layout.image("amd64");
//! layout.tag(&image, "1.0");
//! // skopeo_copy(&[], &layout.reference("1.0"), "docker://HOST/team/app:1.0");
//! ```

use serde_json::{json, Value};
use sha2::Digest as _;

/// The media type of an OCI image manifest.
pub const MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// The media type of an OCI image index.
pub const INDEX: &str = "application/vnd.oci.image.index.v1+json";

/// An OCI image layout in a temporary folder (removed when dropped).
pub struct Layout {
    dir: tempfile::TempDir,
    refs: Vec<Value>,
}

impl Default for Layout {
    fn default() -> Self {
        Self::new()
    }
}

impl Layout {
    /// An empty layout: `oci-layout`, `blobs/sha256/` and no `index.json` until a [`Layout::tag`].
    pub fn new() -> Layout {
        let dir = tempfile::tempdir().expect("a temporary directory for the layout");
        std::fs::create_dir_all(dir.path().join("blobs/sha256")).expect("writing the layout");
        std::fs::write(
            dir.path().join("oci-layout"),
            r#"{"imageLayoutVersion":"1.0.0"}"#,
        )
        .expect("writing the layout");
        Layout {
            dir,
            refs: Vec::new(),
        }
    }

    /// `oci:<dir>:<tag>`, the layout's `tag` as skopeo names it.
    pub fn reference(&self, tag: &str) -> String {
        format!("oci:{}:{tag}", self.dir.path().display())
    }

    /// Stores `data` as a blob; its descriptor (`mediaType`, `digest`, `size`).
    pub fn blob(&self, data: &[u8], media_type: &str) -> Value {
        let d = format!("{:x}", sha2::Sha256::digest(data));
        std::fs::write(self.dir.path().join("blobs/sha256").join(&d), data)
            .expect("writing a blob");
        json!({"mediaType": media_type, "digest": format!("sha256:{d}"), "size": data.len()})
    }

    /// Stores an image manifest of `config` and `layers` (descriptors from [`Layout::blob`]),
    /// with `artifactType` when given; its descriptor (with that `artifactType`).
    pub fn manifest(
        &self,
        artifact_type: Option<&str>,
        config: Value,
        layers: Vec<Value>,
    ) -> Value {
        let mut m = json!({"schemaVersion": 2, "mediaType": MANIFEST});
        if let Some(t) = artifact_type {
            m["artifactType"] = t.into();
        }
        m["config"] = config;
        m["layers"] = layers.into();
        let mut desc = self.blob(m.to_string().as_bytes(), MANIFEST);
        if let Some(t) = artifact_type {
            desc["artifactType"] = t.into();
        }
        desc
    }

    /// Stores a one-layer `linux/<arch>` image; its manifest's descriptor, with its platform.
    pub fn image(&self, arch: &str) -> Value {
        let layer = self.blob(
            format!("layer {arch}").as_bytes(),
            "application/vnd.oci.image.layer.v1.tar",
        );
        let config = json!({"architecture": arch, "os": "linux",
            "rootfs": {"type": "layers", "diff_ids": [layer["digest"]]}});
        let config = self.blob(
            config.to_string().as_bytes(),
            "application/vnd.oci.image.config.v1+json",
        );
        let mut desc = self.manifest(None, config, vec![layer]);
        desc["platform"] = json!({"os": "linux", "architecture": arch});
        desc
    }

    /// Stores an image index of `manifests`; its descriptor.
    pub fn index(&self, manifests: &[Value]) -> Value {
        let i = json!({"schemaVersion": 2, "mediaType": INDEX, "manifests": manifests});
        self.blob(i.to_string().as_bytes(), INDEX)
    }

    /// Tags `desc` (its platform dropped) as `tag` in the layout's `index.json`.
    pub fn tag(&mut self, desc: &Value, tag: &str) {
        let mut d = desc.clone();
        if let Some(o) = d.as_object_mut() {
            o.remove("platform");
        }
        d["annotations"] = json!({"org.opencontainers.image.ref.name": tag});
        self.refs.push(d);
        let index = json!({"schemaVersion": 2, "manifests": self.refs});
        std::fs::write(self.dir.path().join("index.json"), index.to_string())
            .expect("writing the layout's index.json");
    }
}

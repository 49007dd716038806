//! Deciding whether a string is meant as an image reference.

use imagebom_model::ImageRef;

/// A value in a container `env` value or argument that is meant as an image.
///
/// It must parse as a reference and say which image: a digest; or a tag together with a
/// `/` (`quay.io/a/b:v1`, `team/app:1`); or, without a `/`, a tag that holds a digit but
/// is not only digits (`busybox:1.36`, but not `redis:6379`, which is a host and port) or
/// is `latest`. A value without tag or digest (`ghcr.io/kai-scheduler/kai-scheduler`, the
/// KAI operator's `MS_REPOSITORY`) names a repository that its consumer completes, so it
/// is never an image, whatever the variable is called (see [`repository_only`]). Plain
/// words, paths, URLs, numbers and booleans fail these rules.
pub(crate) fn indirect_image(s: &str) -> Option<ImageRef> {
    let s = s.trim();
    if s.is_empty() || s.len() > 512 {
        return None;
    }
    let r = ImageRef::parse(s).ok()?;
    if r.digest().is_some() {
        return Some(r);
    }
    let tag = r.tag()?;
    if s.contains('/') {
        return Some(r);
    }
    let digits = tag.bytes().filter(u8::is_ascii_digit).count();
    let ok = tag == "latest" || (digits > 0 && digits < tag.len());
    ok.then_some(r)
}

/// True when an env variable or flag whose name says it holds an image (`DRIVER_IMAGE`,
/// `--solver-image`) has a value that names only a repository with an explicit registry
/// (`nvcr.io/nvidia/driver`): worth a warning, as the image cannot be told.
pub(crate) fn repository_only(name: &str, value: &str) -> bool {
    let name = name.trim_start_matches('-').to_ascii_lowercase();
    if !name.ends_with("image") {
        return false;
    }
    ImageRef::parse(value.trim())
        .is_ok_and(|r| r.tag().is_none() && r.digest().is_none() && r.has_explicit_registry())
}

/// A reference with no `/`, no tag and no digest (`vgpu-manager`, `driver`): in a custom
/// resource this is a component name, not a complete image reference.
pub(crate) fn is_bare_word(r: &ImageRef) -> bool {
    !r.original().contains('/') && r.tag().is_none() && r.digest().is_none()
}

/// Splits a container argument into the part that may hold an image: the value of
/// `--flag=value` / `-f=value` / `key=value`, or the whole argument.
pub(crate) fn arg_value(arg: &str) -> Option<&str> {
    let arg = arg.trim();
    if arg.starts_with('-') {
        return arg.split_once('=').map(|(_, v)| v);
    }
    match arg.split_once('=') {
        Some((_, v)) => Some(v),
        None => Some(arg),
    }
}

/// True when a string may hold embedded YAML or JSON worth parsing: it starts with `{` or
/// `[`, or spans several lines and has a `key:` or `- item` shape somewhere.
pub(crate) fn may_be_structured(s: &str) -> bool {
    let t = s.trim_start();
    if t.starts_with('{') || t.starts_with('[') {
        return true;
    }
    s.contains('\n')
        && s.lines().any(|l| {
            let l = l.trim_start();
            l.starts_with("- ") || l.ends_with(':') || l.contains(": ")
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indirect() {
        for yes in [
            "quay.io/jetstack/cert-manager-acmesolver:v0.0.0",
            "nvcr.io/nvidia/driver@sha256:e243d778bd83de47668e7629d78f673317a130fedc99941be12aad7fc6bdfa85",
            "busybox:1.36",
            "nginx:latest",
            "team/app:prod",
        ] {
            assert!(indirect_image(yes).is_some(), "{yes}");
        }
        for no in [
            "",
            "true",
            "6379",
            "default",
            "kube-system/prometheus-kubelet",
            "k8s.io/ingress-nginx",
            "/etc/cni/net.d",
            "http://localhost:3000/api",
            "redis:6379",
            "0.0.0.0:9100",
            "127.0.0.1",
            "foo:bar",
            ":8443",
            "release-name-redis-master-0.release-name-redis-headless.default.svc.cluster.local",
            "$(POD_NAMESPACE)/x",
            "a,b",
            "nvcr.io/nvidia/driver",
            "ghcr.io/kai-scheduler/kai-scheduler",
            "localhost:5000/team/app",
        ] {
            assert!(indirect_image(no).is_none(), "{no}");
        }
    }

    #[test]
    fn repository_only_values() {
        assert!(repository_only("DRIVER_IMAGE", "nvcr.io/nvidia/driver"));
        assert!(repository_only("--solver-image", "ghcr.io/a/b"));
        assert!(!repository_only(
            "MS_REPOSITORY",
            "ghcr.io/kai-scheduler/kai-scheduler"
        ));
        assert!(!repository_only("DRIVER_IMAGE", "nvcr.io/nvidia/driver:1"));
        assert!(!repository_only("DRIVER_IMAGE", "driver"));
    }

    #[test]
    fn args() {
        assert_eq!(arg_value("--image=a:1"), Some("a:1"));
        assert_eq!(arg_value("--leader-elect"), None);
        assert_eq!(arg_value("a:1"), Some("a:1"));
        assert_eq!(arg_value("img=a:1"), Some("a:1"));
    }

    #[test]
    fn structured() {
        assert!(may_be_structured("{\"a\": 1}"));
        assert!(may_be_structured("a: 1\nb: 2\n"));
        assert!(!may_be_structured("just text"));
        assert!(!may_be_structured("line one\nline two\n"));
    }
}

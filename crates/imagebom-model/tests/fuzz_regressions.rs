//! Inputs found by the fuzz targets in `fuzz/` (`cargo xtask fuzz`), kept as regressions.

use imagebom_model::{ImageRef, Lock, RefError};

/// fuzz target `reference`: a Docker Hub name of 249 characters is within the 255-character
/// limit as written, but its normal form (`docker.io/` + name) was not, so the normal form —
/// what the lock file stores as its key — did not parse again. The limit now holds for the
/// normalised name (as Go's `ParseNormalizedNamed` checks it), and every normal form parses.
#[test]
fn normal_form_of_a_long_docker_hub_name_parses_again() {
    let written = "regissegistrio/ingreisp.k8s.io/iy.k8ry.k8s0iregistry.ry.k8s0iregistry.k8s.o/iy.k8riy.k8rrio/iy.k8rysssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssss.k8s.try.k8s.o/iy.k8rreg";
    assert!(written.len() <= 255 && written.len() + "docker.io/".len() > 255);
    let e = ImageRef::parse(written).unwrap_err();
    assert!(matches!(e, RefError::NameTooLong { .. }), "{e}");

    // A single-element Hub name gains `docker.io/library/`.
    let name = "a".repeat(255 - "docker.io/library/".len());
    let r = ImageRef::parse(&name).unwrap();
    let n = r.normalized();
    assert_eq!(ImageRef::parse(&n).unwrap().normalized(), n);
    let e = ImageRef::parse(&format!("{name}b")).unwrap_err();
    assert!(matches!(e, RefError::NameTooLong { .. }), "{e}");

    // And so a lock keyed by a long normal form loads.
    let text = format!(
        "{{\"lockVersion\": 1, \"images\": {{\"{n}\": {{\"digest\": \"sha256:{}\", \"source\": \"registry\"}}}}}}",
        "1".repeat(64)
    );
    let lock = Lock::from_json("imagebom.lock", &text).unwrap();
    assert_eq!(lock.images.len(), 1);
}

//! `boundary-loss network`: the summary ends with the original's parameter count; bad names and
//! devices are clear errors.

mod common;
use common::boundary_loss;

#[test]
fn summary_ends_with_the_parameter_count() {
    for (args, count) in [
        (
            &["network", "UNet", "--modalities", "5", "--classes", "2"][..],
            18_704_855,
        ),
        (
            &["network", "ENet", "--modalities", "1", "--classes", "4"][..],
            463_475,
        ),
        (&["network", "Dummy"][..], 232),
    ] {
        let out = boundary_loss(args);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8(out.stdout).unwrap();
        assert_eq!(
            stdout.lines().last().unwrap(),
            format!("parameters: {count}"),
            "{stdout}"
        );
    }
}

#[test]
fn unknown_network_and_device_are_errors() {
    let out = boundary_loss(&["network", "VNet"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown network 'VNet'"));
    let out = boundary_loss(&["network", "UNet", "--device", "tpu:0"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown backend 'tpu'"));
}

//! The networks: parameter counts equal to the original's (../shared/reference/networks.md,
//! verified there by running the PyTorch code), output shapes, and input-size errors.

use boundary_loss::nets::{Architecture, BuildNetwork, NetError, Network, TrainableParams};

use burn::tensor::{Device, Distribution, Tensor};

fn device() -> Device {
    Device::flex()
}

fn build(name: &str, modalities: usize, classes: usize) -> Network {
    Architecture::parse(name)
        .unwrap()
        .build(modalities, classes, &device())
        .unwrap()
}

#[test]
fn parameter_counts_equal_the_originals() {
    let expected = [
        ("UNet", 1, 2, 18_702_551),
        ("UNet", 5, 2, 18_704_855),
        ("UNet", 2, 2, 18_703_127),
        ("UNet", 1, 4, 18_702_681),
        ("ENet", 1, 2, 460_845),
        ("ENet", 1, 4, 463_475),
        ("ResidualUNet", 1, 2, 19_645_250),
        ("ResidualUNet", 2, 2, 19_645_538),
        ("ResidualUNet", 4, 2, 19_646_114),
        ("ResidualUNet", 1, 4, 19_645_828),
        ("Dimwit", 1, 2, 232),
        ("Dummy", 1, 2, 232),
        ("Dimwit3D", 1, 2, 632),
        ("UNet3D", 1, 2, 56_083_799),
        ("UNet3D", 5, 2, 56_090_711),
    ];
    for (name, modalities, classes, count) in expected {
        let net = build(name, modalities, classes);
        // What forward_2d / forward_3d check inputs against, read from the first convolution.
        assert_eq!(
            net.modalities(),
            modalities,
            "{name}({modalities}, {classes})"
        );
        assert_eq!(
            net.trainable_params(),
            count,
            "{name}({modalities}, {classes})"
        );
        let blocks: usize = net.blocks().iter().map(|(_, n)| n).sum();
        assert_eq!(
            blocks, count,
            "{name}: the block summary covers every parameter"
        );
    }
}

#[test]
fn per_block_counts_equal_the_originals() {
    let unet = build("UNet", 1, 2);
    let want = [
        ("conv0", 37_698),
        ("conv1", 221_698),
        ("conv2", 885_762),
        ("bridge", 8_262_147),
        ("deconv1", 4_720_642),
        ("conv5", 2_360_322),
        ("deconv2", 1_180_674),
        ("conv6", 590_338),
        ("deconv3", 295_426),
        ("conv7", 147_714),
        ("final", 130),
    ];
    assert_eq!(unet.blocks(), want.to_vec());
    let enet = build("ENet", 1, 2);
    let blocks = enet.blocks();
    let find = |prefix: &str| {
        blocks
            .iter()
            .find(|(n, _)| n.starts_with(prefix))
            .unwrap()
            .1
    };
    assert_eq!(find("initial"), 150);
    assert_eq!(find("bn1_0"), 876);
    assert_eq!(find("bn1_1"), 4 * 4_644);
    assert_eq!(find("bn2_0"), 8_932);
    assert_eq!(find("bn4_0"), 48_516);
    assert_eq!(find("bn5_0"), 3_108);
    assert_eq!(find("bn4_1"), 4_644 + 4_805);
    assert_eq!(find("bn5_1"), 348);
    assert_eq!(find("deconv3"), 4_674);
    assert_eq!(find("out_025"), 2_306 + 290);
    // Stage 3: Normal, Dilated x3, Asym x2 of 128 channels, then the 128 -> 64 "Last" block.
    assert_eq!(find("bn3"), 2 * 17_988 + 3 * 17_988 + 2 * 19_044 + 89_540);
}

fn random(shape: [usize; 4]) -> Tensor<4> {
    Tensor::random(shape, Distribution::Default, &device())
}

#[test]
fn two_d_networks_give_logits_of_the_input_size() {
    for (name, modalities, classes, side) in [
        ("Dimwit", 1, 2, 8),
        ("UNet", 5, 2, 16),
        ("ENet", 1, 4, 16),
        ("ENet", 3, 2, 16),
        ("ResidualUNet", 2, 2, 32),
    ] {
        let net = build(name, modalities, classes);
        let width = side + net.architecture().side_multiple(); // not square
        let logits = net
            .forward_2d(random([2, modalities, side, width]))
            .unwrap();
        assert_eq!(logits.dims(), [2, classes, side, width], "{name}");
        let values = logits.into_data().try_to_vec::<f32>().unwrap();
        assert!(values.iter().all(|v| v.is_finite()), "{name}");
    }
}

#[test]
fn three_d_networks_give_logits_of_the_input_size() {
    let net = build("Dimwit3D", 2, 3);
    let x = Tensor::<5>::random([1, 2, 4, 6, 8], Distribution::Default, &device());
    assert_eq!(net.forward_3d(x).unwrap().dims(), [1, 3, 4, 6, 8]);
    let net = build("UNet3D", 1, 2);
    let x = Tensor::<5>::random([1, 1, 8, 8, 16], Distribution::Default, &device());
    assert_eq!(net.forward_3d(x).unwrap().dims(), [1, 2, 8, 8, 16]);
}

#[test]
fn inputs_the_network_cannot_take_are_errors() {
    let unet = build("UNet", 1, 2);
    let err = unet.forward_2d(random([1, 1, 250, 256])).unwrap_err();
    assert_eq!(
        err,
        NetError::Sides {
            network: "UNet",
            multiple: 8,
            got: vec![250, 256]
        }
    );
    assert!(err.to_string().contains("divisible by 8"));
    let err = unet.forward_2d(random([1, 2, 16, 16])).unwrap_err();
    assert!(
        matches!(
            err,
            NetError::Channels {
                expected: 1,
                got: 2,
                ..
            }
        ),
        "{err}"
    );
    let residual = build("ResidualUNet", 1, 2);
    assert!(matches!(
        residual.forward_2d(random([1, 1, 24, 24])),
        Err(NetError::Sides { multiple: 16, .. })
    ));
    let dimwit3d = build("Dimwit3D", 1, 2);
    assert!(matches!(
        dimwit3d.forward_2d(random([1, 1, 8, 8])),
        Err(NetError::Rank { expected: 5, .. })
    ));
    assert!(matches!(
        Architecture::parse("VNet"),
        Err(NetError::Unknown(_))
    ));
    assert!(matches!(
        Architecture::ENet.build(16, 2, &device()),
        Err(NetError::Modalities {
            max: 15,
            got: 16,
            ..
        })
    ));
}

#[test]
fn network_configs_build_as_the_architectures_do() {
    use boundary_loss::nets::{Architecture, NetworkConfig};
    let small = NetworkConfig::new(Architecture::UNet, 3, 2)
        .with_base(Some(4))
        .init(&device())
        .unwrap();
    assert_eq!(small.modalities(), 3);
    let direct = Architecture::UNet
        .build_with_base(3, 2, Some(4), &device())
        .unwrap();
    assert_eq!(small.trainable_params(), direct.trainable_params());
    let err = NetworkConfig::new(Architecture::ENet, 1, 2)
        .with_base(Some(4))
        .init(&device())
        .unwrap_err();
    assert!(err.to_string().contains("UNet and UNet3D only"), "{err}");
}

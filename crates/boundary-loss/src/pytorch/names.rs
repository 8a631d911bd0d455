//! The original's `state_dict` names (`networks.py`, `models/*.py`) of every parameter and
//! running statistic of our networks, from the Burn module path. Each architecture gets the
//! mapping of its own blocks; a path no block knows is `None`, which the tests rule out by
//! comparing every name and shape with those of the original networks in PyTorch.

use crate::nets::Architecture;

/// The PyTorch name of the tensor at Burn path `path` (the network's variant name first, e.g.
/// `UNet.conv0.first.norm.gamma` → `conv0.0.1.weight`).
pub fn torch_name(architecture: Architecture, path: &str) -> Option<String> {
    let segments: Vec<&str> = path.split('.').collect();
    let (leaf, modules) = segments.split_last()?;
    let (variant, modules) = modules.split_first()?;
    if *variant != architecture.name() {
        return None;
    }
    let module = match architecture {
        Architecture::Dimwit | Architecture::Dimwit3D => dimwit(modules),
        Architecture::UNet | Architecture::UNet3D => unet(modules),
        Architecture::ResidualUNet => residual_unet(modules),
        Architecture::ENet => enet(modules),
    }?;
    Some(format!("{module}.{}", leaf_name(leaf)?))
}

/// Burn's `BatchNorm` calls its affine parameters gamma and beta, and `PRelu` its slope alpha;
/// PyTorch calls both `weight` (and `bias`).
fn leaf_name(leaf: &str) -> Option<&str> {
    Some(match leaf {
        "gamma" | "alpha" => "weight",
        "beta" => "bias",
        "weight" | "bias" | "running_mean" | "running_var" => leaf,
        _ => return None,
    })
}

fn join(parts: &[&str]) -> String {
    parts.join(".")
}

fn dimwit(modules: &[&str]) -> Option<String> {
    match modules {
        [layer @ ("down" | "up")] => Some((*layer).to_string()),
        _ => None,
    }
}

/// `convBatch`: `Sequential(conv, BatchNorm, PReLU)`.
fn conv_batch(field: &str) -> Option<&'static str> {
    Some(match field {
        "conv" => "0",
        "norm" => "1",
        "activation" | "act" => "2",
        _ => return None,
    })
}

/// A `convBatch` at `prefix`: `rest` is one field of it.
fn conv_batch_at(prefix: &[&str], rest: &[&str]) -> Option<String> {
    match rest {
        [field] => Some(join(&[prefix, &[conv_batch(field)?]].concat())),
        _ => None,
    }
}

fn unet(modules: &[&str]) -> Option<String> {
    match modules {
        [block @ ("conv0" | "conv1" | "conv2" | "conv5" | "conv6" | "conv7"), half, rest @ ..] => {
            let index = match *half {
                "first" => "0",
                "second" => "1",
                _ => return None,
            };
            conv_batch_at(&[block, index], rest)
        }
        ["bridge", "down", rest @ ..] => conv_batch_at(&["bridge", "0"], rest),
        ["bridge", "out", rest @ ..] => conv_batch_at(&["bridge", "2"], rest),
        // residualConv: convs = Sequential(convBatch, conv, BatchNorm).
        ["bridge", "residual", "first", rest @ ..] => {
            conv_batch_at(&["bridge", "1", "convs", "0"], rest)
        }
        ["bridge", "residual", "conv"] => Some("bridge.1.convs.1".into()),
        ["bridge", "residual", "norm"] => Some("bridge.1.convs.2".into()),
        // upSampleConv: Sequential(interpolate, convBatch, convBatch).
        [block @ ("deconv1" | "deconv2" | "deconv3"), half, rest @ ..] => {
            let index = match *half {
                "first" => "1",
                "second" => "2",
                _ => return None,
            };
            conv_batch_at(&[block, index], rest)
        }
        ["last"] => Some("final".into()),
        _ => None,
    }
}

fn residual_unet(modules: &[&str]) -> Option<String> {
    match modules {
        ["out"] => Some("out".into()),
        // conv_decod_block: Sequential(ConvTranspose2d, BatchNorm2d, act).
        [block, field] if block.starts_with("deconv_") => {
            let index = match *field {
                "conv" => "0",
                "norm" => "1",
                _ => return None,
            };
            Some(join(&[block, index]))
        }
        // Conv_residual_conv: conv_1 = conv_block, conv_2 = conv_block_3 = Sequential(conv_block,
        // conv_block, Conv2d, BatchNorm2d), conv_3 = conv_block; conv_block = (conv, BN, act).
        [block, part, rest @ ..]
            if *block == "bridge" || block.starts_with("down_") || block.starts_with("up_") =>
        {
            let prefix: &[&str] = match *part {
                "first" => &["conv_1"],
                "inner1" => &["conv_2", "0"],
                "inner2" => &["conv_2", "1"],
                "inner_conv" => return rest.is_empty().then(|| join(&[block, "conv_2", "2"])),
                "inner_norm" => return rest.is_empty().then(|| join(&[block, "conv_2", "3"])),
                "last" => &["conv_3"],
                _ => return None,
            };
            match rest {
                [field @ ("conv" | "norm")] => {
                    let index = if *field == "conv" { "0" } else { "1" };
                    Some(join(&[&[*block][..], prefix, &[index]].concat()))
                }
                _ => None,
            }
        }
        _ => None,
    }
}

/// The original class of each ENet bottleneck, which decides its field names.
#[derive(Clone, Copy, PartialEq)]
enum EnetBlock {
    Normal,
    Asymmetric,
    Dilated,
    DilatedLast,
}

/// Stages 2 and 3 (`bottleNeck2_1..8`, `bottleNeck3_1..8`): regular, dilated 2, asymmetric,
/// dilated 4, regular, dilated 8, asymmetric, dilated 16 (stage 3's last: `...DilatedConvLast`).
fn enet_stage_block(stage: &str, index: usize) -> Option<EnetBlock> {
    use EnetBlock::*;
    let kinds = [
        Normal, Dilated, Asymmetric, Dilated, Normal, Dilated, Asymmetric, Dilated,
    ];
    let kind = *kinds.get(index)?;
    Some(if stage == "bn3" && index == 7 {
        DilatedLast
    } else {
        kind
    })
}

fn enet(modules: &[&str]) -> Option<String> {
    let (torch_block, block_kind, rest): (String, Option<EnetBlock>, &[&str]) = match modules {
        ["conv0"] => return Some("conv0".into()),
        ["last"] => return Some("final".into()),
        ["unused_out_025"] => return Some("out_025".into()),
        ["unused_out_05"] => return Some("out_05".into()),
        ["prelu_up_1"] => return Some("PReLU_Up_1".into()),
        ["prelu_up_2"] => return Some("PReLU_Up_2".into()),
        ["deconv3", half, rest @ ..] => {
            let index = match *half {
                "first" => "1",
                "second" => "2",
                _ => return None,
            };
            return conv_batch_at(&["deconv3", index], rest);
        }
        ["bn1_0", rest @ ..] => return enet_downsampling("bottleNeck1_0", rest),
        ["bn2_0", rest @ ..] => return enet_downsampling("bottleNeck2_0", rest),
        ["bn4_0", rest @ ..] => return enet_upsampling("bottleNeck_Up_1_0", rest),
        ["bn5_0", rest @ ..] => return enet_upsampling("bottleNeck_Up_2_1", rest),
        ["bn4_1", rest @ ..] => ("bottleNeck_Up_1_1".into(), Some(EnetBlock::Normal), rest),
        ["bn4_2", rest @ ..] => ("bottleNeck_Up_1_2".into(), Some(EnetBlock::Normal), rest),
        ["bn5_1", rest @ ..] => ("bottleNeck_Up_2_2".into(), Some(EnetBlock::Normal), rest),
        [stage @ ("bn1" | "bn2" | "bn3"), index, rest @ ..] => {
            let index: usize = index.parse().ok()?;
            let number = &stage[2..];
            let kind = if *stage == "bn1" {
                (index < 4).then_some(EnetBlock::Normal)
            } else {
                enet_stage_block(stage, index)
            };
            (format!("bottleNeck{number}_{}", index + 1), kind, rest)
        }
        _ => return None,
    };
    let local = enet_bottleneck(block_kind?, rest)?;
    Some(format!("{torch_block}.{local}"))
}

/// A `Bottleneck`'s fields in the original class `kind`.
fn enet_bottleneck(kind: EnetBlock, rest: &[&str]) -> Option<String> {
    use EnetBlock::*;
    let dilated = matches!(kind, Dilated | DilatedLast);
    match rest {
        ["reduce", field] => Some(format!("block0.{}", conv_batch(field)?)),
        ["expand", field] => Some(format!("block2.{}", conv_batch(field)?)),
        ["middle", field] if dilated => Some(
            match *field {
                "conv" => "conv1",
                "norm" => "bn1",
                "act" => "PReLU1",
                _ => return None,
            }
            .into(),
        ),
        // conv_block_3_3 = (conv, BN, PReLU); conv_block_Asym = (conv 5x1, conv 1x5, BN, PReLU).
        ["middle", field] => {
            let asymmetric = kind == Asymmetric;
            let index = match (*field, asymmetric) {
                ("conv", _) => "0",
                ("second", true) => "1",
                ("norm", false) => "1",
                ("norm", true) => "2",
                ("act", false) => "2",
                ("act", true) => "3",
                _ => return None,
            };
            Some(format!("block1.{index}"))
        }
        ["act"] => Some(if dilated { "PReLU3" } else { "PReLU_out" }.into()),
        ["skip_block", field] if !dilated => Some(format!("conv_out.{}", conv_batch(field)?)),
        ["skip_conv"] if kind == DilatedLast => Some("conv_out".into()),
        _ => None,
    }
}

/// `BottleNeckDownSampling`: conv0/bn0/PReLU0, conv1/bn1/PReLU1, block2, PReLU3.
fn enet_downsampling(block: &str, rest: &[&str]) -> Option<String> {
    let local = match rest {
        ["reduce", field] => enet_numbered(field, 0)?,
        ["middle", field] => enet_numbered(field, 1)?,
        ["expand", field] => format!("block2.{}", conv_batch(field)?),
        ["act"] => "PReLU3".into(),
        _ => return None,
    };
    Some(format!("{block}.{local}"))
}

/// `BottleNeckUpSampling`: conv0/bn0/PReLU0, conv1/bn1/PReLU1, block2, and an unused PReLU3.
fn enet_upsampling(block: &str, rest: &[&str]) -> Option<String> {
    let local = match rest {
        ["first", field] => enet_numbered(field, 0)?,
        ["second", field] => enet_numbered(field, 1)?,
        ["expand", field] => format!("block2.{}", conv_batch(field)?),
        ["unused_act"] => "PReLU3".into(),
        _ => return None,
    };
    Some(format!("{block}.{local}"))
}

fn enet_numbered(field: &str, number: usize) -> Option<String> {
    let stem = match field {
        "conv" => "conv",
        "norm" => "bn",
        "act" => "PReLU",
        _ => return None,
    };
    Some(format!("{stem}{number}"))
}

//! Where the transformer runs: the CPU (the default, and the only device of the libtorch that
//! `scripts/setup.sh` installs) or an accelerator that the linked libtorch was built for.

use crate::error::ModelError;

pub use tch::Device;

/// Parses a device name: `cpu`, `cuda` (the first GPU), `cuda:N` or `mps`.
pub fn parse(name: &str) -> Result<Device, String> {
    let name = name.trim().to_ascii_lowercase();
    match name.as_str() {
        "cpu" => Ok(Device::Cpu),
        "cuda" => Ok(Device::Cuda(0)),
        "mps" => Ok(Device::Mps),
        _ => name
            .strip_prefix("cuda:")
            .and_then(|n| n.parse::<usize>().ok())
            .map(Device::Cuda)
            .ok_or_else(|| format!("unknown device {name:?}: use cpu, cuda, cuda:N or mps")),
    }
}

/// The name [`parse`] reads for `device`.
pub fn name(device: Device) -> String {
    match device {
        Device::Cpu => "cpu".into(),
        Device::Cuda(n) => format!("cuda:{n}"),
        Device::Mps => "mps".into(),
        Device::Vulkan => "vulkan".into(),
    }
}

/// Tells the C allocator to keep freed memory for reuse instead of handing it back to the
/// operating system, for a process that runs the transformer on CPU; call once, early.
///
/// Every forward pass allocates activations of a few MB to a few tens of MB per layer and
/// frees them again. glibc serves blocks that large with `mmap` and returns them with
/// `munmap` (and trims the heap top), so the next batch faults every page in afresh: on
/// rhetoric-dev (1,080 sentences, one thread) 1.08 M page faults and about 15 % of the
/// run's time in the kernel. With the thresholds raised the same run takes 0.12 M page
/// faults; peak RSS grows by about 10 % (freed blocks stay mapped). Returns false where the
/// allocator is not glibc's or refused the setting (nothing changes then).
pub fn keep_freed_memory() -> bool {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        const GIB: libc::c_int = 1 << 30;
        // SAFETY: mallopt only sets allocator parameters; any value is accepted or refused.
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, GIB) == 1
                && libc::mallopt(libc::M_TRIM_THRESHOLD, GIB) == 1
        }
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        false
    }
}

/// Checks that the linked libtorch can run on `device`, before any weight is loaded there.
pub fn check(device: Device) -> Result<(), ModelError> {
    let unavailable = |reason: &str| ModelError::DeviceUnavailable {
        device: name(device),
        reason: reason.into(),
    };
    match device {
        Device::Cpu => Ok(()),
        Device::Cuda(_) if !tch::Cuda::is_available() => Err(unavailable(
            "the linked libtorch has no CUDA support or sees no GPU",
        )),
        Device::Cuda(n) if n >= tch::Cuda::device_count() as usize => Err(unavailable(&format!(
            "libtorch sees {} GPU(s)",
            tch::Cuda::device_count()
        ))),
        Device::Cuda(_) => Ok(()),
        Device::Mps if !tch::utils::has_mps() => {
            Err(unavailable("the linked libtorch was not built with MPS"))
        }
        Device::Mps => Ok(()),
        Device::Vulkan => Err(unavailable("rhetor does not run on Vulkan")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_names_round_trip() {
        for d in [Device::Cpu, Device::Cuda(0), Device::Cuda(3), Device::Mps] {
            assert_eq!(parse(&name(d)), Ok(d));
        }
        assert_eq!(parse("CUDA"), Ok(Device::Cuda(0)));
    }

    #[test]
    fn unknown_device_names_are_refused_with_the_choices() {
        for bad in ["gpu", "cuda:", "cuda:x", ""] {
            let e = parse(bad).unwrap_err();
            assert!(e.contains("cpu, cuda, cuda:N or mps"), "{bad}: {e}");
        }
    }

    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[test]
    fn glibc_accepts_the_allocator_thresholds() {
        assert!(keep_freed_memory());
    }

    #[test]
    fn the_cpu_is_always_usable() {
        assert!(check(Device::Cpu).is_ok());
    }

    #[test]
    fn a_gpu_this_libtorch_cannot_see_is_a_clear_error() {
        if tch::Cuda::is_available() {
            return;
        }
        let e = check(Device::Cuda(0)).unwrap_err().to_string();
        assert!(e.contains("cuda:0") && e.contains("--device cpu"), "{e}");
    }
}

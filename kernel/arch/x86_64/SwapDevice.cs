using SharpMM.Addressing;
using SharpMM.Virtual;

namespace SharpMM.Kernel;

/// <summary>
/// The run's backing store: QEMU's ivshmem-plain device (PCI 1af4:1110, what `qemu.sh --run`
/// adds), whose BAR 2 is host memory outside the guest's RAM. Mapped write-back into the
/// kernel's device window, it is a RAM disk of page slots (<see cref="RamDiskStore"/>): a program
/// may then touch more memory than the guest has, its pages going out and coming back in.
/// Found through PCI configuration mechanism 1 (ports 0xCF8/0xCFC) on bus 0; the firmware has
/// already placed and enabled the BAR.
/// </summary>
internal static unsafe class SwapDevice
{
    private const uint VendorDevice = 0x1110_1af4; // Red Hat, Inc. / Inter-VM shared memory
    private const byte Bar2 = 0x18, Bar3 = 0x1c, Command = 0x04;
    private const uint MemoryDecode = 1u << 1;

    /// <summary>
    /// Finds the device and maps its memory. Return: Ok with the kernel address and size;
    /// Unsupported (no device, or its BAR is not a placed 64-bit memory BAR); the device window's
    /// statuses (OutOfMemory, NoSpace).
    /// </summary>
    public static Status Map(out byte* area, out ulong bytes)
    {
        area = null;
        bytes = 0;
        for (uint dev = 0; dev < 32; dev++)
        {
            if (Read(dev, 0) != VendorDevice) continue;
            uint low = Read(dev, Bar2), high = Read(dev, Bar3);
            if ((low & 0x7) != 0x4) return Status.Unsupported; // memory, 64-bit
            ulong phys = ((ulong)high << 32) | (low & ~0xFu);
            if (phys == 0 || (Read(dev, Command) & MemoryDecode) == 0) return Status.Unsupported;
            bytes = Size(dev, low, high);
            if (bytes == 0 || !PageSize.IsAligned(bytes)) return Status.Unsupported;
            KernelFrames kf = default;
            Status s = VmallocLargeMapper.Vm.MapDevice(phys, bytes, CacheMode.WriteBack, ref kf, ref KernelAddressSpace.Hooks, out ulong va);
            if (s != Status.Ok) return s;
            area = (byte*)va;
            return Status.Ok;
        }
        return Status.Unsupported;
    }

    // The BAR's size by the standard probe: all ones written with decoding off, the size's
    // mask read back, the address restored.
    private static ulong Size(uint dev, uint low, uint high)
    {
        uint command = Read(dev, Command);
        Write(dev, Command, command & ~MemoryDecode);
        Write(dev, Bar2, 0xFFFF_FFFF);
        Write(dev, Bar3, 0xFFFF_FFFF);
        ulong mask = ((ulong)Read(dev, Bar3) << 32) | (Read(dev, Bar2) & ~0xFu);
        Write(dev, Bar2, low);
        Write(dev, Bar3, high);
        Write(dev, Command, command);
        return mask == 0 ? 0 : ~mask + 1;
    }

    private static uint Read(uint dev, byte offset)
    {
        Arch.OutL(0xCF8, Address(dev, offset));
        return Arch.InL(0xCFC);
    }

    private static void Write(uint dev, byte offset, uint value)
    {
        Arch.OutL(0xCF8, Address(dev, offset));
        Arch.OutL(0xCFC, value);
    }

    // Bus 0, function 0.
    private static uint Address(uint dev, byte offset) => 0x8000_0000u | (dev << 11) | offset;
}

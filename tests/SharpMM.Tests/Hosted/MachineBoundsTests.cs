using System;
using System.IO;
using System.Linq;
using SharpMM.Boot;
using SharpMM.Hosted;
using SharpMM.Virtual;
using Xunit;

namespace SharpMM.Tests.Hosted;

/// <summary>
/// The hosted machine's bounds: every access stays inside the simulated RAM. HostMemory puts
/// an inaccessible guard after the RAM, so an access past it would kill the test process; these
/// tests boot every layout on every small size and require each boot to either pass all its
/// checks or refuse with a one-line reason, with nothing left allocated.
/// </summary>
public unsafe class MachineBoundsTests
{
    // RAM [0, 0x9fc00) and [1 MiB, size), the BIOS area reserved: the smallest PC-like map.
    private static MemoryMap PcLike(ulong size)
    {
        var m = new MemoryMap();
        m.Add(0, 0x9fc00, MemoryType.Usable);
        m.Add(0xf0000, 0x100000, MemoryType.Reserved);
        if (size > 0x100000) m.Add(0x100000, size, MemoryType.Usable);
        return m;
    }

    public static TheoryData<LayoutId> Layouts() => new(Enum.GetValues<LayoutId>());

    // Expect, for each size from 1 MiB to 16 MiB in 64 KiB steps: Ok with every MMU check
    // passed, or a refusal naming the layout, never an exception or a touch outside RAM.
    [Theory]
    [MemberData(nameof(Layouts))]
    public void LayoutBoot_OnEverySizeUpTo16MiB_BootsOrRefuses(LayoutId id)
    {
        int booted = 0, refused = 0;
        for (ulong size = 1UL << 20; size <= 16UL << 20; size += 64UL << 10)
        {
            Status st = LayoutBoot.TryRun(id, PcLike(size), out LayoutBoot? boot, out string? error);
            if (st == Status.Ok)
            {
                using (boot)
                {
                    Assert.True(boot!.FailedChecks == 0, $"{size:x}: {boot.Log}");
                    Assert.True(boot.Machine.Ram.Size >= 0x300000, $"{size:x}: RAM smaller than the kernel image");
                }
                booted++;
            }
            else
            {
                Assert.Null(boot);
                Assert.False(string.IsNullOrEmpty(error));
                Assert.StartsWith($"layout {AddressSpaceLayout.NameOf(id)}", error);
                Assert.DoesNotContain('\n', error);
                refused++;
            }
        }
        // Below 3 MiB the kernel image [1 MiB, 3 MiB) is not RAM: refused; from some size on, booted.
        Assert.True(refused >= 32, $"{refused} refused");
        Assert.True(booted > 0, "no size booted");
    }

    // Expect: the QEMU pc maps from 2 MiB to 16 MiB (RAM ends 128 KiB below the size) boot or refuse the same way.
    [Theory]
    [MemberData(nameof(Layouts))]
    public void LayoutBoot_OnQemuPcMaps_BootsOrRefuses(LayoutId id)
    {
        for (ulong size = 2UL << 20; size <= 16UL << 20; size += 1UL << 20)
        {
            Status st = LayoutBoot.TryRun(id, QemuMaps.ForMachine(size, "pc"), out LayoutBoot? boot, out string? error);
            using (boot)
            {
                if (st == Status.Ok) Assert.True(boot!.FailedChecks == 0, boot.Log);
                else Assert.False(string.IsNullOrEmpty(error));
            }
        }
    }

    // RAM only in [1 MiB, 1 MiB + 16 KiB): every layout refuses (its kernel image is not RAM);
    // the plain boot manages the four frames, or, told that a kernel image sits at 1 MiB, has
    // nothing left and says so as a status.
    [Fact]
    public void RamOnlyIn16KiBAbove1MiB_IsRefused()
    {
        MemoryMap Tiny() { var m = new MemoryMap(); m.Add(0x100000, 0x104000, MemoryType.Usable); return m; }
        foreach (LayoutId id in Enum.GetValues<LayoutId>())
        {
            Assert.Equal(Status.InvalidArgument, LayoutBoot.TryRun(id, Tiny(), out LayoutBoot? boot, out string? error));
            Assert.Null(boot);
            Assert.Contains("needs usable RAM at [0x100000, 0x300000)", error);
        }
        MemoryMap raw = Tiny();
        var info = BootInfo.Default();
        using (var m = SimulatedMachine.Boot(ref raw, in info, out _)!)
        {
            Assert.Equal(Status.Ok, m.BootStatus);
            m.Memory->Buddy.Validate();
        }
        raw = Tiny();
        info.KernelImage = SharpMM.Addressing.PhysRange.FromBounds(0x100000, 0x300000);
        using (var m = SimulatedMachine.Boot(ref raw, in info, out _)!)
            Assert.Equal(Status.OutOfMemory, m.BootStatus);
    }

    // Expect: the physical boot alone, on every size from 1 MiB to 16 MiB, boots or returns a
    // status; what it booted validates.
    [Fact]
    public void PhysicalBoot_OnEverySizeUpTo16MiB_BootsOrReturnsAStatus()
    {
        for (ulong size = 1UL << 20; size <= 16UL << 20; size += 64UL << 10)
        {
            MemoryMap raw = PcLike(size);
            var info = BootInfo.Default();
            using var m = SimulatedMachine.Boot(ref raw, in info, out MapError err);
            Assert.True(m is not null, err.Reason);
            if (m!.BootStatus == Status.Ok) m.Memory->Buddy.Validate();
        }
    }

    // Expect: the 1 GiB after a machine's RAM is mapped and inaccessible (---p in
    // /proc/self/maps), so a stray access faults instead of reaching other host memory.
    [Fact]
    public void HostMemory_IsFollowedByAnInaccessibleGuard()
    {
        using var ram = new HostMemory(3UL << 20);
        ulong end = (ulong)ram.Base + ram.Size;
        var guard = File.ReadAllLines("/proc/self/maps")
            .Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Select(f => (Range: f[0].Split('-'), Perms: f[1]))
            .Select(f => (Start: Convert.ToUInt64(f.Range[0], 16), End: Convert.ToUInt64(f.Range[1], 16), f.Perms))
            .SingleOrDefault(r => r.Start == end);
        Assert.Equal("---p", guard.Perms);
        Assert.True(guard.End - guard.Start >= HostMemory.GuardBytes);
    }
}

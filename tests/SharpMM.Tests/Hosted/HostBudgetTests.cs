using System;
using SharpMM.Boot;
using SharpMM.Hosted;
using SharpMM.Virtual;
using Xunit;

namespace SharpMM.Tests.Hosted;

/// <summary>
/// What a simulated machine may cost the host: its frame metadata, estimated before anything
/// is allocated, against <see cref="HostBudget"/>'s limit (default 1 GiB, the environment
/// variable SHARPMM_MAX_HOST_MEMORY changes it).
/// </summary>
public unsafe class HostBudgetTests
{
    private static MemoryMap Sanitized(MemoryMap raw)
    {
        MemoryMap s = default;
        Assert.Equal(Status.Ok, MapSanitizer.Sanitize(ref raw, ref s, out _));
        return s;
    }

    // Expect: the estimate is what the boot then takes.
    [Theory]
    [InlineData(128UL << 20, "pc")]
    [InlineData(6UL << 30, "q35")]
    public void Estimate_EqualsTheMetadataTheBootTakes(ulong ram, string machine)
    {
        MemoryMap s = Sanitized(QemuMaps.ForMachine(ram, machine));
        using var m = SimulatedMachine.BootSanitized(in s, BootInfo.Default());
        Assert.Equal(Status.Ok, m.BootStatus);
        Assert.Equal(m.Memory->Buddy.Map.MetadataBytes, HostBudget.CostOf(in s));
    }

    // Expect: 100 TiB claimed (about 36 GiB of metadata) refused at once with the amount, the
    // limit and the variable to raise it; a usable entry [1 MiB, 2^64) likewise.
    [Fact]
    public void HugeMachines_AreRefusedBeforeAllocating_WithAmountLimitAndRemedy()
    {
        MemoryMap s = Sanitized(QemuMaps.ForMachine(100UL << 40, "pc"));
        Assert.Equal(Status.OutOfMemory, HostBudget.Check(in s, out string? refusal));
        Assert.Contains("36.4 GiB", refusal);
        Assert.Contains("limit of 1 GiB", refusal);
        Assert.Contains("SHARPMM_MAX_HOST_MEMORY=37G", refusal);
        Assert.Throws<HostBudgetExceededException>(() => SimulatedMachine.BootSanitized(in s, BootInfo.Default()));

        var raw = new MemoryMap();
        raw.Add(0x100000, ulong.MaxValue, MemoryType.Usable);
        var info = BootInfo.Default();
        Assert.Throws<HostBudgetExceededException>(() => SimulatedMachine.Boot(ref raw, in info, out _));
        Assert.Equal(Status.OutOfMemory, LayoutBoot.TryRun(LayoutId.X86_64, QemuMaps.ForMachine(100UL << 40, "pc"), out LayoutBoot? boot, out string? error));
        Assert.Null(boot);
        Assert.Contains("SHARPMM_MAX_HOST_MEMORY", error);
    }

    // A Multiboot 2 boot information with only a basic-meminfo tag, mem_upper 0xffffffff KiB
    // (about 4 TiB above 1 MiB). Expect: refused before anything is allocated, not 60 s and
    // 9.6 GB of metadata as before the budget.
    [Fact]
    public void Multiboot2BasicMeminfo_OfFourTiB_IsRefused()
    {
        var payload = new byte[8];
        BitConverter.TryWriteBytes(payload.AsSpan(0, 4), 639u);
        BitConverter.TryWriteBytes(payload.AsSpan(4, 4), 0xffffffffu);
        var raw = new MemoryMap();
        Assert.Equal(Status.Ok, SharpMM.Tests.Boot.BootTestKit.Load(SharpMM.Tests.Boot.BootTestKit.Mb2Info(SharpMM.Tests.Boot.BootTestKit.Mb2Tag(4, payload)), ref raw, out _, out _));
        MemoryMap s = Sanitized(raw);
        Assert.Equal(Status.OutOfMemory, HostBudget.Check(in s, out string? refusal));
        Assert.Contains("above the limit of 1 GiB", refusal);
    }

    // Expect: the variable's value sets the limit (read through the same parser; the process
    // environment is left alone so that tests running in parallel are not affected); a value
    // that is not a size is refused with a message naming it.
    [Fact]
    public void TheVariable_SetsTheLimit()
    {
        MemoryMap s = Sanitized(QemuMaps.ForMachine(6UL << 30, "q35")); // about 13.6 MiB of metadata
        Assert.True(HostBudget.TryParseLimit("8M", out ulong limit, out _));
        Assert.Equal(8UL << 20, limit);
        Assert.Equal(Status.OutOfMemory, HostBudget.Check(in s, limit, out string? refusal));
        Assert.Contains("SHARPMM_MAX_HOST_MEMORY=14M", refusal);
        Assert.True(HostBudget.TryParseLimit("14MiB", out limit, out _));
        Assert.Equal(Status.Ok, HostBudget.Check(in s, limit, out _));
        Assert.True(HostBudget.TryParseLimit(null, out limit, out _));
        Assert.Equal(HostBudget.DefaultLimitBytes, limit);
        Assert.False(HostBudget.TryParseLimit("lots", out _, out string? error));
        Assert.Equal("SHARPMM_MAX_HOST_MEMORY='lots' is not a size (examples: 512M, 4G, 2T)", error);
    }
}

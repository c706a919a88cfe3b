using System;
using SharpMM.Boot;
using SharpMM.Hosted;
using SharpMM.Virtual;
using Xunit;

namespace SharpMM.Tests.Hosted;

/// <summary>
/// What a simulated machine may cost the host: its frame metadata, estimated before anything
/// is allocated, against <see cref="HostBudget"/>'s limit (default 1 GiB, the environment
/// variable SHARPMM_MAX_HOST_MEMORY changes it). The limit is process state, so these tests
/// run in one collection that no other test changes it in.
/// </summary>
[Collection(nameof(HostBudgetTests))]
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

    // Expect: the variable lowers and raises the limit; a value that is not a size is refused
    // with a message naming it.
    [Fact]
    public void TheVariable_SetsTheLimit()
    {
        MemoryMap s = Sanitized(QemuMaps.ForMachine(6UL << 30, "q35")); // about 13.6 MiB of metadata
        try
        {
            Environment.SetEnvironmentVariable(HostBudget.LimitVariable, "8M");
            Assert.Equal(Status.OutOfMemory, HostBudget.Check(in s, out string? refusal));
            Assert.Contains("SHARPMM_MAX_HOST_MEMORY=14M", refusal);
            Environment.SetEnvironmentVariable(HostBudget.LimitVariable, "14M");
            Assert.Equal(Status.Ok, HostBudget.Check(in s, out _));
            Environment.SetEnvironmentVariable(HostBudget.LimitVariable, "lots");
            Assert.Equal(Status.InvalidArgument, HostBudget.Check(in s, out refusal));
            Assert.Contains("SHARPMM_MAX_HOST_MEMORY='lots' is not a size", refusal);
        }
        finally
        {
            Environment.SetEnvironmentVariable(HostBudget.LimitVariable, null);
        }
    }
}

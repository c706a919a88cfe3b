using SharpMM.Hosted;
using SharpMM.Hosted.Machine;
using SharpMM.Virtual;
using Xunit;

namespace SharpMM.Tests.Hosted;

/// <summary>The classic higher-half boot sequence on each layout, checked by the MMU model at
/// every step.</summary>
public class LayoutBootTests
{
    [Theory]
    [InlineData(LayoutId.I386HigherHalf, 128UL << 20, "pc")]
    [InlineData(LayoutId.I386HigherHalf, 3UL << 30, "pc")]
    [InlineData(LayoutId.I386Low2G, 3UL << 30, "pc")]
    [InlineData(LayoutId.PhantomIa32, 512UL << 20, "q35")]
    [InlineData(LayoutId.X86_64, 6UL << 30, "q35")]
    public void EveryStep_IsCheckedByTheMmuModel(LayoutId id, ulong ram, string machine)
    {
        using var boot = LayoutBoot.Run(id, QemuMaps.ForMachine(ram, machine));
        Assert.True(boot.FailedChecks == 0, boot.Log);
        Assert.Contains("all checks passed", boot.Log);
        Assert.Contains("5. CR3 <- ", boot.Log);
        // Page 0 is unmapped in the final tables of every layout.
        Assert.Equal(TranslationResult.PageFault, boot.Mmu.Translate(0, AccessKind.Read, Privilege.Supervisor, out _));
        Assert.Equal(boot.FinalRoot, boot.Mmu.Cr3 & ~0xFFFUL);
    }

    // The classic i386 higher half: after the switch the kernel runs at 0xC0100000, the identity
    // map is gone, the directory is reachable through the self-map, and the stack top is writable
    // while the page under it is a guard.
    [Fact]
    public void I386HigherHalf_FinalAddressSpace()
    {
        using var boot = LayoutBoot.Run(LayoutId.I386HigherHalf, QemuMaps.ForMachine(128UL << 20, "pc"));
        var mmu = boot.Mmu;
        Assert.Equal(TranslationResult.Ok, mmu.Translate(0xC0100000, AccessKind.Fetch, Privilege.Supervisor, out ulong pa));
        Assert.Equal(0x100000UL, pa);
        Assert.Equal(TranslationResult.PageFault, mmu.Translate(0x100000, AccessKind.Read, Privilege.Supervisor, out _));
        Assert.Equal(TranslationResult.Ok, mmu.Translate(0xFFFFF000, AccessKind.Read, Privilege.Supervisor, out ulong dir));
        Assert.Equal(boot.FinalRoot, dir);
        Assert.Equal(TranslationResult.Ok, mmu.Translate(0xFFBFFFF8, AccessKind.Write, Privilege.Supervisor, out _));
        Assert.Equal(TranslationResult.PageFault, mmu.Translate(0xFFBFB000, AccessKind.Write, Privilege.Supervisor, out _));
        // The kernel is not reachable from user mode.
        Assert.Equal(TranslationResult.PageFault, mmu.Translate(0xC0100000, AccessKind.Read, Privilege.User, out _));
    }

    [Fact]
    public void PageTablesAndWalk_Reports()
    {
        using var boot = LayoutBoot.Run(LayoutId.X86_64, QemuMaps.ForMachine(512UL << 20, "pc"));
        var w = StringSink.NewWriter();
        boot.WritePageTables(ref w);
        string dump = w.Sink.Text.ToString();
        Assert.Contains("0xffffffff80100000", dump);   // the kernel image run
        Assert.Contains("0xffff888000000000", dump);   // the direct map
        var t = StringSink.NewWriter();
        boot.WriteWalk(0xFFFF888000200000, ref t);
        string walk = t.Sink.Text.ToString();
        Assert.Contains("MMU model: 0xffff888000200000 -> 0x200000", walk);
    }
}

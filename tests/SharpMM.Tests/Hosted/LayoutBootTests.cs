using System.Linq;
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

    // The 2G/2G split follows the same rule as the kernel booted with layout=low-2g: the kernel
    // at 0x80000000 + phys, physical memory mapped linearly from there (the direct map continues
    // the image's offset), nothing of the kernel below 0x80000000 (the boot identity map is gone,
    // user space is empty), the directory through the self-map, the Low zone ending where the
    // linear map ends (1920 MiB) and RAM above it in HighMem.
    [Fact]
    public void I386Low2G_FinalAddressSpace_MapsLowMemoryLinearlyAt2GiB()
    {
        using var boot = LayoutBoot.Run(LayoutId.I386Low2G, QemuMaps.ForMachine(3UL << 30, "pc"));
        var mmu = boot.Mmu;
        Assert.True(boot.FailedChecks == 0, boot.Log);
        Assert.Equal(TranslationResult.Ok, mmu.Translate(0x80100000, AccessKind.Fetch, Privilege.Supervisor, out ulong pa));
        Assert.Equal(0x100000UL, pa);
        Assert.Equal(TranslationResult.Ok, mmu.Translate(0x80000000 + (1000UL << 20) + 0x123, AccessKind.Write, Privilege.Supervisor, out pa));
        Assert.Equal((1000UL << 20) + 0x123, pa);
        Assert.Equal(TranslationResult.Ok, mmu.Translate(0xF7FFF000, AccessKind.Read, Privilege.Supervisor, out pa));
        Assert.Equal(0x77FFF000UL, pa);
        Assert.Equal(TranslationResult.PageFault, mmu.Translate(0xF8000000, AccessKind.Read, Privilege.Supervisor, out _));
        foreach (ulong low in new ulong[] { 0x1000, 0x100000, 0x08048000, 0x7FFFF000 })
            Assert.Equal(TranslationResult.PageFault, mmu.Translate(low, AccessKind.Read, Privilege.Supervisor, out _));
        Assert.Equal(TranslationResult.Ok, mmu.Translate(0xFFFFF000, AccessKind.Read, Privilege.Supervisor, out ulong dir));
        Assert.Equal(boot.FinalRoot, dir);
        Assert.Contains("(zones DMA Low HighMem)", boot.Log);
        var zones = LayoutBoot.ZonesFor(LayoutId.I386Low2G);
        Assert.Equal(AddressSpaceLayout.I386Low2GDirectMapBytes, zones.EndPfn(1) << 12);
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
    // Expect: on every layout the final tables map the kernel image W^X as the real kernel maps
    // its own: text not writable, rodata not writable, data writable; on x86-64 (which has NX)
    // rodata and data are not executable and text is.
    [Theory]
    [InlineData(LayoutId.I386HigherHalf)]
    [InlineData(LayoutId.I386Low2G)]
    [InlineData(LayoutId.PhantomIa32)]
    [InlineData(LayoutId.X86_64)]
    public void KernelImage_IsMappedWriteXorExecute(LayoutId id)
    {
        using var boot = LayoutBoot.Run(id, QemuMaps.ForMachine(128UL << 20, "pc"));
        var mmu = boot.Mmu;
        ulong k = boot.Layout.KernelVirtualOffset;
        TranslationResult At(ulong pa, AccessKind kind) => mmu.Translate(k + pa, kind, Privilege.Supervisor, out _);
        Assert.Equal(TranslationResult.Ok, At(LayoutBoot.KernelPhysStart, AccessKind.Fetch));
        Assert.Equal(TranslationResult.PageFault, At(LayoutBoot.KernelPhysStart, AccessKind.Write));
        Assert.Equal(TranslationResult.PageFault, At(LayoutBoot.KernelRodataStart, AccessKind.Write));
        Assert.Equal(TranslationResult.Ok, At(LayoutBoot.KernelRodataStart, AccessKind.Read));
        Assert.Equal(TranslationResult.Ok, At(LayoutBoot.KernelDataStart, AccessKind.Write));
        Assert.Equal(TranslationResult.Ok, At(LayoutBoot.KernelPhysEnd - 8, AccessKind.Write));
        if (boot.Layout.AddressBits > 32)
        {
            Assert.Equal(TranslationResult.PageFault, At(LayoutBoot.KernelRodataStart, AccessKind.Fetch));
            Assert.Equal(TranslationResult.PageFault, At(LayoutBoot.KernelDataStart, AccessKind.Fetch));
        }
    }

    // Expect: x86-64 boot steps print addresses in 16 digits (the stack at the top of the
    // address space was cut to 12), and the dump carries Linux's section markers.
    [Fact]
    public void X86_64_Report_PrintsFullWidthAddresses_AndSectionMarkers()
    {
        using var boot = LayoutBoot.Run(LayoutId.X86_64, QemuMaps.ForMachine(128UL << 20, "pc"));
        Assert.Contains("     0xffffffffffffb000-0xffffffffffffefff  kernel stack", boot.Log);
        Assert.Contains("7. stack pointer moved to 0xfffffffffffff000\n", boot.Log);
        var w = StringSink.NewWriter();
        boot.WritePageTables(ref w);
        string dump = w.Sink.Text.ToString();
        string[] markers = dump.Split('\n').Where(l => l.StartsWith("---[")).ToArray();
        Assert.Equal(new[] { "---[ User Space ]---", "---[ Kernel Space ]---", "---[ Low Kernel Mapping ]---", "---[ vmalloc() Area ]---",
                             "---[ High Kernel Mapping ]---", "---[ Kernel Stack ]---" }, markers);
        Assert.Contains("---[ High Kernel Mapping ]---\n0xffffffff80100000-0xffffffff80200000      1M  4K      ro x  GLB\n", dump);
    }

    // Expect: the 32-bit dump's last run, which ends at 2^32, keeps the columns of the others.
    [Fact]
    public void I386_Dump_RunEndingAt4GiB_KeepsTheColumns()
    {
        using var boot = LayoutBoot.Run(LayoutId.I386HigherHalf, QemuMaps.ForMachine(128UL << 20, "pc"));
        var w = StringSink.NewWriter();
        boot.WritePageTables(ref w);
        string[] runs = w.Sink.Text.ToString().Split('\n').Where(l => l.StartsWith("0x")).ToArray();
        Assert.EndsWith("-0x100000000     4K  4K      RW x", runs[^1]);
        int pageSizeColumn = runs[0].LastIndexOf("4K", System.StringComparison.Ordinal);
        Assert.All(runs, r => Assert.Equal(pageSizeColumn, r.LastIndexOf("4K", System.StringComparison.Ordinal)));
    }
}

using System;
using SharpMM.Hosted.Machine;
using SharpMM.Paging;
using Xunit;
using static SharpMM.Tests.Machine.PagingFixture;

namespace SharpMM.Tests.Machine;

/// <summary>The <see cref="IArchHooks"/> struct as library code uses it (a generic constraint),
/// and the control-register rules the model enforces.</summary>
public class ArchHooksAndRegisterTests
{
    private const ulong Va = 0x0000_0000_0060_0000;

    /// <summary>What a mapper does after changing a PTE: invalidate through its hooks.</summary>
    private static void AfterRemap<THooks>(ref THooks hooks, ulong va) where THooks : struct, IArchHooks
    {
        if (hooks.HasInvalidatePage) hooks.InvalidatePage(va);
        else hooks.WriteCr3(hooks.ReadCr3());
    }

    [Fact]
    public void InvalidationThroughTheHooksEndsTheStaleTranslation()
    {
        using var f = new PagingFixture();
        f.Boot(PagingMode.FourLevel, t => t.Map4K(Va, Frame(0), P | RW));
        Assert.Equal(Frame(0), f.T(Va).Pa);
        f.Set(f.EntryAddress(Va, 1), Frame(1) | P | RW);
        MmuArchHooks hooks = f.Mmu.ArchHooks;
        AfterRemap(ref hooks, Va);
        Assert.Equal(Frame(1), f.T(Va).Pa);
        Assert.Empty(f.Mmu.Tlb.Violations);
    }

    [Fact]
    public void WithoutInvlpgTheHooksReloadCr3()
    {
        using var f = new PagingFixture(new MmuOptions { HasInvalidatePage = false });
        f.Boot(PagingMode.Bits32, t => t.Map4K(Va, Frame(0), P | RW));
        f.T(Va);
        f.Set(f.EntryAddress(Va, 1), Frame(1) | P | RW);
        var hooks = new MmuArchHooks(f.Mmu);
        Assert.Throws<InvalidOperationException>(() => hooks.InvalidatePage(Va));
        AfterRemap(ref hooks, Va);
        Assert.Equal(Frame(1), f.T(Va).Pa);
        Assert.Equal(2, f.Mmu.Tlb.Cr3Flushes);   // EnablePaging's load and the hooks' reload
    }

    [Fact]
    public void ReadCr3MasksTheFlagBits()
    {
        using var f = new PagingFixture();
        f.Boot(PagingMode.FourLevel, _ => { });
        f.Mmu.Cr3 = f.Root | 0x18;   // PWT | PCD
        Assert.Equal(f.Root, f.Mmu.ArchHooks.ReadCr3());
        Assert.Equal(f.Root | 0x18, f.Mmu.Cr3);
    }

    [Fact]
    public void FlushAllThroughTheHooksDropsGlobalEntries()
    {
        using var f = new PagingFixture();
        f.Boot(PagingMode.FourLevel, t => t.Map4K(Va, Frame(0), P | RW | G), cr4: Cr4Flags.PageGlobalEnable);
        f.T(Va);
        MmuArchHooks hooks = f.Mmu.ArchHooks;
        hooks.WriteCr3(hooks.ReadCr3());
        Assert.True(f.Mmu.Tlb.Contains(Va));
        hooks.FlushAll();
        Assert.False(f.Mmu.Tlb.Contains(Va));
    }

    [Fact]
    public void EnablePagingSelectsTheModeAndLongModeActive()
    {
        using var f = new PagingFixture();
        Assert.Equal(PagingMode.Disabled, f.Mmu.Mode);
        Assert.Equal((TranslationResult.Ok, 0x1234UL), f.T(0x1234));   // identity with paging off
        f.Boot(PagingMode.FourLevel, _ => { });
        Assert.Equal(PagingMode.FourLevel, f.Mmu.Mode);
        Assert.True((f.Mmu.Efer & EferFlags.LongModeActive) != 0);
        f.Mmu.EnablePaging(PagingMode.Disabled, 0);
        Assert.Equal(PagingMode.Disabled, f.Mmu.Mode);
        Assert.Equal(0, f.Mmu.Tlb.Count);
    }

    [Fact]
    public void IllegalRegisterLoadsRaiseGeneralProtection()
    {
        using var f = new PagingFixture(new MmuOptions { MaxPhysicalAddressBits = 40 });
        // PG with LME but without PAE.
        f.Mmu.Efer = EferFlags.LongModeEnable;
        Assert.Equal(AccessStatus.GeneralProtection,
            Assert.Throws<MachineFaultException>(() => f.Mmu.Cr0 = Cr0Flags.Paging).Status);

        f.Boot(PagingMode.FourLevel, _ => { });
        // CR3 bits at or above MAXPHYADDR.
        Assert.Throws<MachineFaultException>(() => f.Mmu.Cr3 = 1UL << 40);
        // LME cannot change with paging on; PAE cannot be cleared in 4-level mode.
        Assert.Throws<MachineFaultException>(() => f.Mmu.Efer = EferFlags.None);
        Assert.Throws<MachineFaultException>(() => f.Mmu.Cr4 = Cr4Flags.None);
        // Unmodelled features are refused rather than ignored.
        Assert.Throws<NotSupportedException>(() => f.Mmu.Cr4 = Cr4Flags.PhysicalAddressExtension | (Cr4Flags)(1UL << 20));
        Assert.Equal(PagingMode.FourLevel, f.Mmu.Mode);
    }

    [Fact]
    public void NxeChangeFlushesTheTlb()
    {
        using var f = new PagingFixture();
        f.Boot(PagingMode.FourLevel, t => t.Map4K(Va, Frame(0), P | RW));
        f.T(Va);
        f.Mmu.Efer |= EferFlags.NoExecuteEnable;
        Assert.Equal(0, f.Mmu.Tlb.Count);
    }
}

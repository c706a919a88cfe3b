using System.Collections.Generic;
using SharpMM.Hosted.Machine;
using SharpMM.Paging;
using Xunit;
using static SharpMM.Tests.Machine.PagingFixture;

namespace SharpMM.Tests.Machine;

/// <summary>Accesses through the model deliver page faults to the host's handler: Retry after
/// fixing the tables, Fail, the retry bound, accesses that straddle pages, counters.</summary>
public class FaultDeliveryTests
{
    private const ulong Va = 0x0000_7000_0000_0000;

    private static PagingFixture Empty4Level()
    {
        var f = new PagingFixture();
        f.Boot(PagingMode.FourLevel, t => t.Map4K(Va - KiB4, Frame(0), P | RW | US));
        return f;
    }

    [Fact]
    public void HandlerMapsThePageAndTheAccessSucceeds()
    {
        using PagingFixture f = Empty4Level();
        var seen = new List<PageFault>();
        f.Mmu.FaultHandler = (mmu, fault) =>
        {
            seen.Add(fault);
            Assert.Equal(fault.Address, mmu.Cr2);
            f.Map4K(fault.Address & ~0xFFFUL, Frame(9), P | RW | US);
            return FaultResolution.Retry;
        };
        f.Mmu.Write64(Va + 0x18, 0x1122_3344_5566_7788, Privilege.User);
        Assert.Equal(0x1122_3344_5566_7788UL, f.Peek64(Frame(9) + 0x18));
        Assert.Equal(0x1122_3344_5566_7788UL, f.Mmu.Read64(Va + 0x18, Privilege.User));

        PageFault pf = Assert.Single(seen);
        Assert.Equal(Va + 0x18, pf.Address);
        Assert.Equal(PageFaultErrorCode.Write | PageFaultErrorCode.User, pf.Error);
        Assert.Equal((1L, 1L, 1L, 0L), (f.Mmu.Counters.PageFaults, f.Mmu.Counters.HandlerCalls,
            f.Mmu.Counters.HandlerRetries, f.Mmu.Counters.HandlerFailures));
    }

    [Fact]
    public void HandlerThatRetriesWithoutFixingHitsTheBound()
    {
        using PagingFixture f = Empty4Level();
        int calls = 0;
        f.Mmu.MaxFaultRetries = 3;
        f.Mmu.FaultHandler = (_, _) => { calls++; return FaultResolution.Retry; };
        Assert.Equal(AccessStatus.RetryLimitExceeded, f.Mmu.TryRead64(Va, Privilege.Supervisor, out _));
        Assert.Equal(3, calls);
        Assert.Equal(1, f.Mmu.Counters.RetryLimitExceeded);
        Assert.Equal(4, f.Mmu.Counters.PageFaults);   // the first try and three retries

        var ex = Assert.Throws<MachineFaultException>(() => f.Mmu.Read8(Va + 1));
        Assert.Equal(AccessStatus.RetryLimitExceeded, ex.Status);
        Assert.Equal(Va + 1, ex.Fault.Address);
        Assert.Contains("Retry 3 times", ex.Message);
    }

    [Fact]
    public void HandlerAnswersFailAndTheCallerGetsTheFault()
    {
        using PagingFixture f = Empty4Level();
        f.Mmu.FaultHandler = (_, _) => FaultResolution.Fail;
        Assert.Equal(AccessStatus.PageFault, f.Mmu.TryWrite8(Va, 1, Privilege.User));
        Assert.Equal(PageFaultErrorCode.Write | PageFaultErrorCode.User, f.Mmu.LastFault.Error);
        var ex = Assert.Throws<MachineFaultException>(() => f.Mmu.Write64(Va + 0x40, 1));
        Assert.Equal(AccessStatus.PageFault, ex.Status);
        Assert.Equal(PageFaultErrorCode.Write, ex.Fault.Error);
        Assert.Contains($"0x{Va + 0x40:x}", ex.Message);
        Assert.Equal(2, f.Mmu.Counters.HandlerFailures);
    }

    [Fact]
    public void WithoutAHandlerTheAccessFails()
    {
        using PagingFixture f = Empty4Level();
        Assert.Equal(AccessStatus.PageFault, f.Mmu.TryFetch(Va, Privilege.Supervisor, out _));
        Assert.Equal(Va, f.Mmu.Cr2);
    }

    [Fact]
    public void GeneralProtectionDoesNotCallTheHandler()
    {
        using PagingFixture f = Empty4Level();
        int calls = 0;
        f.Mmu.FaultHandler = (_, _) => { calls++; return FaultResolution.Retry; };
        Assert.Equal(AccessStatus.GeneralProtection, f.Mmu.TryRead64(0x8000_0000_0000_0000, Privilege.Supervisor, out _));
        Assert.Equal(0, calls);
        var ex = Assert.Throws<MachineFaultException>(() => f.Mmu.Read64(0x0000_8000_0000_0000));
        Assert.Equal(AccessStatus.GeneralProtection, ex.Status);
        Assert.Contains("non-canonical", ex.Message);
    }

    [Fact]
    public void AccessStraddlingIntoAMissingPageWritesNothingUntilItIsMapped()
    {
        // [Va - 4 KiB, Va) is mapped, [Va, Va + 4 KiB) is not; an 8-byte write at Va - 4.
        using PagingFixture f = Empty4Level();
        Assert.Equal(AccessStatus.PageFault, f.Mmu.TryWrite64(Va - 4, 0x1111_1111_2222_2222, Privilege.User));
        Assert.Equal(Va, f.Mmu.LastFault.Address);
        Assert.Equal(0UL, f.Peek64(Frame(0) + KiB4 - 8));

        f.Mmu.FaultHandler = (_, fault) => { f.Map4K(fault.Address & ~0xFFFUL, Frame(1), P | RW | US); return FaultResolution.Retry; };
        f.Mmu.Write64(Va - 4, 0x1111_1111_2222_2222, Privilege.User);
        Assert.Equal(0x2222_2222UL, f.Peek64(Frame(0) + KiB4 - 8) >> 32);
        Assert.Equal(0x1111_1111UL, f.Peek64(Frame(1)) & 0xFFFF_FFFF);
        Assert.Equal(0x1111_1111_2222_2222UL, f.Mmu.Read64(Va - 4));
    }

    [Fact]
    public void ByteCopiesCrossPages()
    {
        using PagingFixture f = Empty4Level();
        f.Map4K(Va, Frame(1), P | RW | US);
        byte[] data = new byte[100];
        for (int i = 0; i < data.Length; i++) data[i] = (byte)i;
        Assert.Equal(AccessStatus.Ok, f.Mmu.TryWriteBytes(Va - 50, data, Privilege.User));
        byte[] back = new byte[100];
        Assert.Equal(AccessStatus.Ok, f.Mmu.TryReadBytes(Va - 50, back, Privilege.Supervisor));
        Assert.Equal(data, back);
    }

    [Fact]
    public void FaultCountersByCauseAccessAndPrivilege()
    {
        using var f = new PagingFixture();
        f.Boot(PagingMode.FourLevel, t =>
        {
            t.Map4K(0x1000, Frame(1), P);                 // supervisor read-only
            t.Map4K(0x2000, Frame(2), P | RW | (1UL << 50)); // reserved bit
        }, efer: EferFlags.NoExecuteEnable);
        f.Mmu.TryRead8(0x9000, Privilege.Supervisor, out _);    // not present, read
        f.Mmu.TryWrite8(0x1000, 0, Privilege.Supervisor);       // protection, write
        f.Mmu.TryRead8(0x1000, Privilege.User, out _);          // protection, read, user
        f.Mmu.TryFetch(0x2000, Privilege.Supervisor, out _);    // reserved, fetch
        MmuCounters c = f.Mmu.Counters;
        Assert.Equal((4L, 1L, 2L, 1L), (c.PageFaults, c.NotPresent, c.Protection, c.ReservedBit));
        Assert.Equal((2L, 1L, 1L), (c.ReadFaults, c.WriteFaults, c.FetchFaults));
        Assert.Equal((1L, 3L), (c.UserFaults, c.SupervisorFaults));
        c.Reset();
        Assert.Equal(0, c.PageFaults);
    }

    [Fact]
    public void FetchReadsAnInstructionByte()
    {
        using var f = new PagingFixture();
        f.Boot(PagingMode.FourLevel, t => t.Map4K(0x1000, Frame(1), P | US), efer: EferFlags.NoExecuteEnable);
        f.Poke64(Frame(1), 0x90C3);
        Assert.Equal((byte)0xC3, f.Mmu.Fetch(0x1000, Privilege.User));
        Assert.Equal((byte)0x90, f.Mmu.Fetch(0x1001));
    }
}

using System;
using System.Threading;
using SharpMM.Concurrency;
using SharpMM.Hosted;
using Xunit;

namespace SharpMM.Tests.Concurrency;

[Collection(CpuCollection.Name)]
public sealed unsafe class CpuTests
{
    private static int s_handledOn = -1;
    private static int s_handled;

    private static void Handler()
    {
        Volatile.Write(ref s_handledOn, Cpu.Current);
        Interlocked.Increment(ref s_handled);
    }

    [Fact]
    public void ASingleThread_IsCpu0_WithOneCpuOnline()
    {
        Assert.Equal(0, Cpu.Current);
        Assert.Equal(1, Cpu.Online);
        Assert.Equal(1UL, Cpu.OnlineMask);
    }

    [Fact]
    public void Run_GivesEachThreadItsOwnCpu_AndSetsOnline()
    {
        var seen = new int[4];
        int online = 0;
        HostedCpus.Run(4, cpu =>
        {
            seen[cpu] = Cpu.Current + 100;
            if (cpu == 0) online = Cpu.Online;
        });
        Assert.Equal(new[] { 100, 101, 102, 103 }, seen);
        Assert.Equal(4, online);
        Assert.Equal(1, Cpu.Online);
    }

    [Fact]
    public void Run_WithMoreCpusOnlineThanThreads_RunsTheFirstOnes_AndSetsOnline()
    {
        var seen = new int[3];
        int online = 0;
        HostedCpus.Run(2, 3, cpu =>
        {
            seen[cpu] = Cpu.Current + 100;
            if (cpu == 1) online = Cpu.Online;
        });
        Assert.Equal(new[] { 100, 101, 0 }, seen);
        Assert.Equal(3, online);
        Assert.Equal(1, Cpu.Online);
        Assert.Throws<ArgumentOutOfRangeException>(() => HostedCpus.Run(3, 2, _ => { }));
        Assert.Throws<ArgumentOutOfRangeException>(() => HostedCpus.Run(1, Cpu.MaxCpus + 1, _ => { }));
    }

    [Fact]
    public void Kick_OfAnotherCpu_RunsTheHandlerThere_WhenItRelaxes()
    {
        delegate*<void> before = Cpu.RequestHandler(CpuRequest.HostCall);
        Cpu.SetRequestHandler(CpuRequest.HostCall, &Handler);
        try
        {
            s_handled = 0;
            s_handledOn = -1;
            HostedCpus.Run(2, cpu =>
            {
                if (cpu == 0)
                {
                    Cpu.Kick(1UL << 1, CpuRequest.HostCall);
                }
                else
                {
                    // CPU 1 waits as a lock waiter would; the request is answered on the way.
                    while (Volatile.Read(ref s_handled) == 0) Cpu.Relax();
                }
            });
            Assert.Equal(1, s_handled);
            Assert.Equal(1, s_handledOn);
        }
        finally { Cpu.SetRequestHandler(CpuRequest.HostCall, before); }
    }

    [Fact]
    public void Kick_OfTheCurrentCpu_RunsTheHandlerAtOnce()
    {
        delegate*<void> before = Cpu.RequestHandler(CpuRequest.HostCall);
        Cpu.SetRequestHandler(CpuRequest.HostCall, &Handler);
        try
        {
            s_handled = 0;
            Cpu.Kick(1UL << Cpu.Current, CpuRequest.HostCall);
            Assert.Equal(1, s_handled);
            Assert.False(Cpu.RequestPending);
            Cpu.ServiceRequests();   // nothing pending: the handler does not run again
            Assert.Equal(1, s_handled);
        }
        finally { Cpu.SetRequestHandler(CpuRequest.HostCall, before); }
    }

    private static int s_order;
    private static void First() => s_order = s_order * 10 + 1;
    private static void Second() => s_order = s_order * 10 + 2;

    [Fact]
    public void Requests_OfSeveralKinds_PendingAtOnce_AllRun_LowestKindFirst()
    {
        delegate*<void> a = Cpu.RequestHandler(CpuRequest.TlbShootdown), b = Cpu.RequestHandler(CpuRequest.HostCall);
        Cpu.SetRequestHandler(CpuRequest.TlbShootdown, &First);
        Cpu.SetRequestHandler(CpuRequest.HostCall, &Second);
        try
        {
            s_order = 0;
            HostedCpus.Run(2, cpu =>
            {
                if (cpu != 1) return;
                // Both arrive (sent as CPU 0) before CPU 1 looks: one service runs both.
                HostedCpus.Bind(0);
                Cpu.Kick(1UL << 1, CpuRequest.HostCall);
                Cpu.Kick(1UL << 1, CpuRequest.TlbShootdown);
                HostedCpus.Bind(1);
                Assert.True(Cpu.RequestPending);
                Cpu.ServiceRequests();
                Assert.False(Cpu.RequestPending);
            });
            Assert.Equal(12, s_order);
        }
        finally
        {
            Cpu.SetRequestHandler(CpuRequest.TlbShootdown, a);
            Cpu.SetRequestHandler(CpuRequest.HostCall, b);
        }
    }

    [Fact]
    public void ARequestKind_ThatIsNotOneBit_Panics()
    {
        Assert.Throws<PanicException>(() => Cpu.Kick(1, (CpuRequest)3));
        Assert.Throws<PanicException>(() => Cpu.SetRequestHandler((CpuRequest)0, null));
    }

    [Fact]
    public void SetOnline_OutsideTheRange_Panics()
    {
        Assert.Throws<PanicException>(() => Cpu.SetOnline(0));
        Assert.Throws<PanicException>(() => Cpu.SetOnline(Cpu.MaxCpus + 1));
        Assert.Equal(1, Cpu.Online);
    }
}

using SharpMM.Boot;
using SharpMM.Diagnostics;

namespace SharpMM.Kernel;

/// <summary>
/// The in-kernel test suite. To add a test: write a
/// <c>private static void Name(ref TestContext t)</c> here (or in a new file) and add one
/// <c>r.Run("name", &amp;Name);</c> line to <see cref="RunAll"/>. Tests may read
/// <see cref="KernelMain.Loader"/>; they should leave the machine as they found it.
/// </summary>
internal static unsafe class KernelTests
{
    /// <summary>Runs every test in order.</summary>
    public static void RunAll(ref TestRunner r)
    {
        r.Run("serial formatter", &SerialFormatter);
        r.Run("rdtsc advances", &RdtscAdvances);
        r.Run("page 0 is not mapped", &NullPageNotMapped);
        r.Run("direct map reaches the end of RAM", &DirectMapReachesRam);
        r.Run("gc statics initialised", &GcStaticsInitialised);
        r.Run("breakpoint trap returns", &BreakpointTrapReturns);
        r.Run("new goes through the KernelHeap hook", &NewUsesHeapHook);
        CorelibTests.RunAll(ref r);
        PagingTests.RunAll(ref r);
        PhysicalTests.RunAll(ref r);
        HeapTests.RunAll(ref r);
        UserTests.RunAll(ref r);
    }

    // ---- serial formatter -----------------------------------------------------------------

    /// <summary>The library's TextWriter, as the kernel uses it, produces the hosted formats.</summary>
    private static void SerialFormatter(ref TestContext t)
    {
        byte* buffer = stackalloc byte[64];
        TextWriter<BufferSink> w = new TextWriter<BufferSink>(new BufferSink(buffer, 64));

        w.Dec(0UL); Expect(ref t, ref w, "0", "Dec(0)");
        w.Dec(18446744073709551615UL); Expect(ref t, ref w, "18446744073709551615", "Dec(ulong.MaxValue)");
        w.Dec(-42L); Expect(ref t, ref w, "-42", "Dec(-42)");
        w.Dec(long.MinValue); Expect(ref t, ref w, "-9223372036854775808", "Dec(long.MinValue)");
        w.Hex(0UL); Expect(ref t, ref w, "0x0", "Hex(0)");
        w.Hex(0xdeadbeefUL, 16); Expect(ref t, ref w, "0x00000000deadbeef", "Hex(0xdeadbeef, 16)");
        w.Hex(0xFFFFFFFFFFFFFFFFUL); Expect(ref t, ref w, "0xffffffffffffffff", "Hex(ulong.MaxValue)");
        w.Size(128UL << 20); Expect(ref t, ref w, "128 MiB", "Size(128 MiB)");
        w.Size(3UL << 29); Expect(ref t, ref w, "1.5 GiB", "Size(1.5 GiB)");
        w.Size(4096); Expect(ref t, ref w, "4 KiB", "Size(4096)");
        w.DecPad(7, 3); Expect(ref t, ref w, "  7", "DecPad(7, 3)");
        w.Str("BIOS-e820: [mem "); w.Hex(0x100000, 16); w.Char('-'); w.Hex(0x7fdffff, 16); w.Str("] usable");
        Expect(ref t, ref w, "BIOS-e820: [mem 0x0000000000100000-0x0000000007fdffff] usable", "e820 line");
    }

    private static void Expect(ref TestContext t, ref TextWriter<BufferSink> w, string expected, string what)
    {
        t.Check(w.Sink.Holds(expected), what);
        w.Sink.Clear();
    }

    // ---- rdtsc ----------------------------------------------------------------------------

    private static void RdtscAdvances(ref TestContext t)
    {
        ulong t0 = Arch.Rdtsc();
        for (int i = 0; i < 1000; i++) Arch.Pause();
        ulong t1 = Arch.Rdtsc();
        t.Check(t1 > t0, "rdtsc after a delay is larger");
        t.Check(t0 > KernelMain.Loader.BootTsc, "rdtsc now is larger than at boot");
    }

    // ---- paging ---------------------------------------------------------------------------

    /// <summary>In the kernel's own tables (the library's walk): page 0 and both stack guard pages
    /// are holes, page 1 is mapped. PagingTests checks the same holes with the hardware.</summary>
    private static void NullPageNotMapped(ref TestContext t)
    {
        t.Check(!KernelAddressSpace.IsMapped(0), "page 0 not present");
        t.Check(!KernelAddressSpace.IsMapped(0xFFF), "last byte of page 0 not present");
        t.Check(KernelAddressSpace.IsMapped(0x1000), "page 1 present");
        t.Check(!KernelAddressSpace.IsMapped(Arch.BootStackGuard()), "boot stack guard page not present");
        t.Check(!KernelAddressSpace.IsMapped(KernelStack.Guard), "kernel stack guard page not present");
        t.Equal(Arch.ReadCr3() & ~0xFFFUL, KernelAddressSpace.Mapper.RootPhys, "CR3 holds the kernel's PML4");
        t.Check((Arch.ReadCr0() & Arch.Cr0PagingEnabled) != 0, "CR0.PG set");
    }

    /// <summary>
    /// For every usable range above 1 MiB (the part outside the kernel image), writes and reads
    /// back a pattern over its first and last 4 KiB page, restoring each word, and touches the
    /// last usable byte of RAM, all through the kernel's direct map (virt == phys: each page
    /// tested must translate to itself).
    /// </summary>
    private static void DirectMapReachesRam(ref TestContext t)
    {
        ref LoaderInfo loader = ref KernelMain.Loader;
        ulong imageStart = KernelImage.Start, imageEnd = KernelImage.End;
        ulong highestTested = 0;
        int pages = 0;
        for (int i = 0; i < loader.Map.Count; i++)
        {
            MemoryMapEntry e = loader.Map[i];
            if (e.Type != MemoryType.Usable) continue;
            ulong start = (e.Start + 0xFFF) & ~0xFFFUL;
            ulong end = e.End & ~0xFFFUL;
            if (start < 0x100000) start = 0x100000;
            if (start < imageEnd && end > imageStart)
            {
                // The image sits at 1 MiB, at the bottom of its range: test what lies above it.
                if (start >= imageStart) start = imageEnd;
                else end = imageStart;
            }
            if (start >= end) continue;
            pages += TestPage(ref t, start);
            pages += TestPage(ref t, end - 0x1000);
            if (end > highestTested) highestTested = end;
        }
        t.Check(pages > 0, "at least one usable page above the kernel image");
        ulong top = loader.HighestUsableEnd();
        t.Equal(highestTested, top & ~0xFFFUL, "highest page tested is the last usable page");
        if (KernelAddressSpace.IsMapped(top - 1))
        {
            byte* last = (byte*)(top - 1);
            byte saved = *last;
            *last = 0xA5;
            t.Equal(*last, 0xA5, "last usable byte of RAM holds a write");
            *last = saved;
        }
        else t.Check(false, "last usable byte of RAM is mapped");
    }

    private static int TestPage(ref TestContext t, ulong addr)
    {
        if (KernelAddressSpace.Translate(addr, out SharpMM.Paging.Translation tr) != Status.Ok || tr.Phys.Value != addr)
        {
            t.Equal(addr, 0, "usable page not mapped at virt == phys");
            return 0;
        }
        ulong* p = (ulong*)addr;
        for (int i = 0; i < 512; i++)
        {
            ulong saved = p[i];
            ulong pattern = (addr + (ulong)i * 8) ^ 0x5A5AA5A5C3C33C3CUL;
            p[i] = pattern;
            ulong back = p[i];
            p[i] = ~pattern;
            ulong back2 = p[i];
            p[i] = saved;
            if (back != pattern || back2 != ~pattern)
            {
                t.Equal(back, pattern, "pattern read back from a usable page");
                return 1;
            }
        }
        return 1;
    }

    // ---- runtime --------------------------------------------------------------------------

    // Not readonly, and written below: ilc must keep them as real fields in a GC static block
    // (a readonly one it would fold into a constant).
    private static string s_gcStaticProbe = "gc-static";
    private static string s_gcStaticOther;

    /// <summary>Reference-type statics live in blocks GcStatics.Initialize allocated; the
    /// preinitialised value is there and the field can be written.</summary>
    private static void GcStaticsInitialised(ref TestContext t)
    {
        t.Check(GcStatics.BlockCount > 0, "at least one GC static block");
        t.Check((object)s_gcStaticOther == null, "reference static without initialiser is null");
        string probe = s_gcStaticProbe;
        t.Check((object)probe != null, "preinitialised string static is set");
        if ((object)probe != null)
        {
            t.Equal((ulong)probe.Length, 9, "preinitialised string static length");
            t.Check(probe[0] == 'g' && probe[8] == 'c', "preinitialised string static text");
        }
        s_gcStaticOther = "other";
        s_gcStaticProbe = s_gcStaticOther;
        t.Check((object)s_gcStaticProbe == (object)"other", "reference static holds a write");
        s_gcStaticProbe = probe;
        s_gcStaticOther = null;
    }

    /// <summary>int3 goes through the IDT, the stub, the dispatcher and iretq, and comes back.</summary>
    private static void BreakpointTrapReturns(ref TestContext t)
    {
        int before = ExceptionDispatcher.BreakpointCount;
        ExceptionDispatcher.ExpectBreakpoint = true;
        Arch.Int3();
        t.Equal((ulong)(ExceptionDispatcher.BreakpointCount - before), 1, "breakpoints taken");
        t.Check(!ExceptionDispatcher.ExpectBreakpoint, "dispatcher consumed the expectation");
    }

    // A test fixture, not a heap: the test points the KernelHeap hook at this buffer for the
    // duration of the test and puts the previous hook back.
    private static byte* s_fixture;
    private static ulong s_fixtureUsed;
    private const ulong FixtureSize = 512;

    private static void* FixtureAllocate(nuint byteCount)
    {
        ulong size = ((ulong)byteCount + 7) & ~7UL;
        if (s_fixtureUsed + size > FixtureSize) return null;
        void* p = s_fixture + s_fixtureUsed;
        s_fixtureUsed += size;
        return p;
    }

    /// <summary>Runs <paramref name="test"/> with the KernelHeap hook pointed at a 512-byte
    /// buffer on this stack frame, then puts the previous hook back.</summary>
    public static void WithFixtureHeap(ref TestContext t, delegate*<ref TestContext, void> test)
    {
        delegate*<nuint, void*> previous = KernelHeap.Allocator;
        byte* buffer = stackalloc byte[(int)FixtureSize];
        for (int i = 0; i < (int)FixtureSize; i++) buffer[i] = 0xCC;
        s_fixture = buffer;
        s_fixtureUsed = 0;
        KernelHeap.SetAllocator(&FixtureAllocate);
        test(ref t);
        KernelHeap.SetAllocator(previous);
        s_fixture = null;
    }

    /// <summary>new of a class and of an array goes through RhpNewFast/RhpNewArray to the hook
    /// and yields usable objects; type checks work on them.</summary>
    private static void NewUsesHeapHook(ref TestContext t) => WithFixtureHeap(ref t, &NewUsesHeapHookCore);

    private static void NewUsesHeapHookCore(ref TestContext t)
    {
        byte* buffer = s_fixture;
        HeapProbe probe = new HeapProbe();
        ulong probeAddr = AddressOf(probe);
        t.Check(probeAddr > (ulong)buffer && probeAddr < (ulong)buffer + FixtureSize, "object allocated from the hook");
        t.Equal(probe.Value, 0, "new object is zeroed");
        probe.Value = 0x1234;
        t.Equal(probe.Value, 0x1234, "field write reads back");
        object boxedRef = probe;
        t.Check(boxedRef is HeapProbe, "is-check on the allocated object");

        int[] numbers = new int[5];
        ulong arrayAddr = AddressOf(numbers);
        t.Check(arrayAddr > probeAddr && arrayAddr < (ulong)buffer + FixtureSize, "array allocated from the hook");
        t.Equal((ulong)numbers.Length, 5, "array length");
        numbers[4] = 7;
        t.Equal((ulong)numbers[4], 7, "array element write reads back");
        t.Equal((ulong)(uint)numbers[0], 0, "new array is zeroed");
    }

    private static ulong AddressOf(object o) => (ulong)System.Runtime.CompilerServices.Unsafe.As<object, nint>(ref o);
}

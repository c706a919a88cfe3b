using SharpMM.Boot;
using SharpMM.Diagnostics;

namespace SharpMM.Kernel;

/// <summary>
/// The in-kernel test suite. To add a test: write a
/// <c>private static void Name(ref TestContext t)</c> here (or in a new file) and add one
/// <c>r.Run("name", &amp;Name);</c> line to <see cref="RunAll"/>; a test that holds on one
/// architecture only goes to tests/ARCH/ArchTests.cs (or a file it runs). Tests may read
/// <see cref="KernelMain.Loader"/>; they should leave the machine as they found it.
/// </summary>
internal static unsafe class KernelTests
{
    /// <summary>Runs every test in order.</summary>
    public static void RunAll(ref TestRunner r)
    {
        r.Run("serial formatter", &SerialFormatter);
        r.Run("rdtsc advances", &RdtscAdvances);
        r.Run("new goes through the ManagedNewHook hook", &NewUsesHeapHook);
        r.Run("gc statics initialised", &GcStaticsInitialised);
        CorelibTests.RunAll(ref r);
        PhysicalTests.RunAll(ref r);
        HeapTests.RunAll(ref r);
        ArchTests.RunAll(ref r);
        SmpTests.RunAll(ref r);
        SmpStormTests.RunAll(ref r);
        SmpShootdownTests.RunAll(ref r);
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

    // ---- runtime --------------------------------------------------------------------------

    // A test fixture, not a heap: the test points the ManagedNewHook hook at this buffer for the
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

    /// <summary>Runs <paramref name="test"/> with the ManagedNewHook hook pointed at a 512-byte
    /// buffer on this stack frame, then puts the previous hook back.</summary>
    public static void WithFixtureHeap(ref TestContext t, delegate*<ref TestContext, void> test)
    {
        delegate*<nuint, void*> previous = ManagedNewHook.Allocator;
        // 8-byte aligned as the hook promises (a 32-bit stack is only 4-byte aligned).
        byte* raw = stackalloc byte[(int)FixtureSize + 8];
        byte* buffer = (byte*)(((nuint)raw + 7) & ~(nuint)7);
        for (int i = 0; i < (int)FixtureSize; i++) buffer[i] = 0xCC;
        s_fixture = buffer;
        s_fixtureUsed = 0;
        ManagedNewHook.SetAllocator(&FixtureAllocate);
        test(ref t);
        ManagedNewHook.SetAllocator(previous);
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

    private static ulong AddressOf(object o) => System.Runtime.CompilerServices.Unsafe.As<object, nuint>(ref o);

    // ---- reference-type statics (GcStatics) -------------------------------------------------

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
}

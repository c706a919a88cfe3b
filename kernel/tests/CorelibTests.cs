using System;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using SharpMM.Addressing;

namespace SharpMM.Kernel;

/// <summary>
/// Checks that the constructs kernel/corelib/README.md promises compile under ilc and behave as
/// on .NET: each test exercises a group of them through the real code generator.
/// </summary>
internal static unsafe class CorelibTests
{
    /// <summary>Registers the corelib tests with the runner.</summary>
    public static void RunAll(ref TestRunner r)
    {
        r.Run("corelib: BitOperations", &BitOps);
        r.Run("corelib: Span, stackalloc, MemoryMarshal", &Spans);
        r.Run("corelib: InlineArray, fixed buffer, explicit layout", &Layouts);
        r.Run("corelib: generics, static abstract members, function pointers", &Generics);
        r.Run("corelib: Unsafe", &UnsafeOps);
        r.Run("corelib: strings and switch", &Strings);
        r.Run("corelib: constant data (spans, static readonly arrays)", &ConstantData);
        r.Run("corelib: Equals(object) on boxed structs", &BoxedEquals);
        r.Run("corelib: Interlocked, Volatile, and the library's spin lock", &Atomics);
    }

    private static void Atomics(ref TestContext t)
    {
        int i = 5;
        t.Equal((ulong)System.Threading.Interlocked.CompareExchange(ref i, 9, 5), 5, "CompareExchange returns the old value");
        t.Equal((ulong)i, 9, "CompareExchange stores when the comparand matches");
        t.Equal((ulong)System.Threading.Interlocked.CompareExchange(ref i, 1, 5), 9, "CompareExchange with a stale comparand");
        t.Equal((ulong)i, 9, "CompareExchange does not store on a mismatch");
        t.Equal((ulong)System.Threading.Interlocked.Exchange(ref i, 3), 9, "Exchange returns the old value");
        t.Equal((ulong)System.Threading.Interlocked.Add(ref i, 4), 7, "Add returns the new value");
        uint u = uint.MaxValue;
        t.Equal(System.Threading.Interlocked.Increment(ref u), 0, "Increment(uint) wraps");
        t.Equal(System.Threading.Interlocked.Decrement(ref u), uint.MaxValue, "Decrement(uint) wraps");
        System.Threading.Volatile.Write(ref i, 42);
        t.Equal((ulong)System.Threading.Volatile.Read(ref i), 42, "Volatile round trip");
        SharpMM.Concurrency.SpinLock l = default;
        l.Init(SharpMM.Concurrency.LockRank.Diagnostics);
        l.Acquire();
        t.Check(l.IsHeld && !l.TryAcquire(), "a held spin lock is held, and TryAcquire fails");
        l.Release();
        t.Check(!l.IsHeld && l.TryAcquire(), "a released spin lock can be taken again");
        l.Release();
        t.Equal(l.Stats.Acquisitions, 2, "acquisitions counted");
    }

    private static void BitOps(ref TestContext t)
    {
        t.Equal((ulong)BitOperations.TrailingZeroCount(0u), 32, "TrailingZeroCount(0u)");
        t.Equal((ulong)BitOperations.TrailingZeroCount(0ul), 64, "TrailingZeroCount(0ul)");
        t.Equal((ulong)BitOperations.TrailingZeroCount(0x80u), 7, "TrailingZeroCount(0x80)");
        t.Equal((ulong)BitOperations.TrailingZeroCount(1ul << 63), 63, "TrailingZeroCount(2^63)");
        t.Equal((ulong)BitOperations.LeadingZeroCount(0u), 32, "LeadingZeroCount(0u)");
        t.Equal((ulong)BitOperations.LeadingZeroCount(0ul), 64, "LeadingZeroCount(0ul)");
        t.Equal((ulong)BitOperations.LeadingZeroCount(1u), 31, "LeadingZeroCount(1u)");
        t.Equal((ulong)BitOperations.LeadingZeroCount(ulong.MaxValue), 0, "LeadingZeroCount(max)");
        t.Equal((ulong)BitOperations.Log2(0u), 0, "Log2(0)");
        t.Equal((ulong)BitOperations.Log2(4096ul), 12, "Log2(4096)");
        t.Equal((ulong)BitOperations.Log2(ulong.MaxValue), 63, "Log2(max)");
        t.Equal((ulong)BitOperations.Log2(int.MaxValue), 30, "Log2(int.MaxValue)");
        t.Equal((ulong)BitOperations.PopCount(0xF0F0u), 8, "PopCount(0xF0F0)");
        t.Equal((ulong)BitOperations.PopCount(ulong.MaxValue), 64, "PopCount(max)");
        t.Check(BitOperations.IsPow2(4096ul) && !BitOperations.IsPow2(0ul) && !BitOperations.IsPow2(12u), "IsPow2 (uint/ulong)");
        t.Check(!BitOperations.IsPow2(-4) && BitOperations.IsPow2(1L << 40) && !BitOperations.IsPow2(0L), "IsPow2 (int/long)");
    }

    private static void Spans(ref TestContext t)
    {
        byte* raw = stackalloc byte[32];
        Span<byte> s = new Span<byte>(raw, 32);
        s.Fill(0x11);
        t.Equal(raw[31], 0x11, "Fill reaches the last element");
        Span<byte> tail = s.Slice(8, 8);
        tail.Clear();
        t.Check(raw[7] == 0x11 && raw[8] == 0 && raw[15] == 0 && raw[16] == 0x11, "Slice(8, 8).Clear touches exactly [8, 16)");
        t.Equal((ulong)s.Slice(30).Length, 2, "Slice(30).Length");
        Span<ulong> words = stackalloc ulong[4];
        for (int i = 0; i < words.Length; i++) words[i] = (ulong)i * 10;
        ReadOnlySpan<ulong> ro = words;
        t.Equal(ro[3], 30, "ReadOnlySpan indexer over a Span");
        Span<byte> asBytes = MemoryMarshal.AsBytes(words);
        t.Equal((ulong)asBytes.Length, 32, "MemoryMarshal.AsBytes length");
        t.Equal(asBytes[8], 10, "MemoryMarshal.AsBytes content (little endian)");
        Span<byte> dst = stackalloc byte[4];
        s.Slice(16, 4).CopyTo(dst);
        t.Equal(dst[3], 0x11, "CopyTo");
        ref ulong first = ref MemoryMarshal.GetReference(words);
        t.Equal(Unsafe.Add(ref first, 2), 20, "GetReference + Unsafe.Add");
    }

    private static void Layouts(ref TestContext t)
    {
        InlineProbe a = default;
        for (int i = 0; i < 5; i++) a[i] = (ulong)(i + 1) << 8;
        int k = 4;
        t.Equal(a[k], 5UL << 8, "InlineArray element at a variable index");
        t.Equal((ulong)sizeof(InlineProbe), 40, "sizeof(InlineArray of 5 ulong)");
        FixedProbe f = default;
        f.Bytes[0] = 0x34;
        f.Bytes[1] = 0x12;
        f.Bytes[15] = 0xAB;
        t.Equal(f.Low, 0x1234, "fixed buffer overlays FieldOffset(0)");
        t.Equal(f.High >> 56, 0xAB, "fixed buffer overlays FieldOffset(8)");
        t.Equal((ulong)sizeof(FixedProbe), 16, "sizeof explicit struct");
    }

    private static int SidesOf<T>() where T : struct, IProbeShape => T.Sides;
    private static int ScaleBy<T>(T shape, int x) where T : struct, IProbeShape => shape.Scale(x);
    private static ulong Twice(ulong v) => v * 2;
    private static ulong Apply(delegate*<ulong, ulong> f, ulong v) => f(v);

    private static void Generics(ref TestContext t)
    {
        t.Equal((ulong)SidesOf<TriangleProbe>(), 3, "static abstract member through a constraint");
        t.Equal((ulong)ScaleBy(new TriangleProbe(), 5), 15, "instance interface call on a constrained struct");
        t.Equal(Apply(&Twice, 21), 42, "delegate* call");
        t.Equal((ulong)Unsafe.SizeOf<PhysRange>(), 16, "Unsafe.SizeOf<PhysRange>()");
    }

    private static void UnsafeOps(ref TestContext t)
    {
        ulong* block = stackalloc ulong[4];
        Unsafe.InitBlock(block, 0xFF, 32);
        t.Equal(block[3], ulong.MaxValue, "InitBlock");
        Unsafe.InitBlockUnaligned((byte*)block + 1, 0, 8);
        t.Equal(block[0], 0xFF, "InitBlockUnaligned");
        Unsafe.CopyBlock(block + 2, block, 8);
        t.Equal(block[2], 0xFF, "CopyBlock");
        ref ulong r = ref Unsafe.AsRef<ulong>(block + 1);
        r = 7;
        t.Equal(block[1], 7, "AsRef(void*)");
        ref uint half = ref Unsafe.As<ulong, uint>(ref block[1]);
        t.Equal(half, 7, "As<ulong, uint>");
        t.Equal((ulong)Unsafe.AsPointer(ref block[3]) - (ulong)block, 24, "AsPointer");
    }

    private static int Classify(string s) => s switch
    {
        "usable" => 1,
        "reserved" => 2,
        "ACPI data" => 3,
        "ACPI NVS" => 4,
        "unusable" => 5,
        "persistent" => 7,
        "soft reserved" => 8,
        _ => 0,
    };

    private static void Strings(ref TestContext t)
    {
        string s = "SharpMM";
        t.Equal((ulong)s.Length, 7, "string literal Length");
        t.Check(s[5] == 'M', "string indexer");
        t.Equal((ulong)Classify("ACPI NVS"), 4, "switch on string (hashed)");
        t.Equal((ulong)Classify("nothing"), 0, "switch on string default");
        ReadOnlySpan<char> chars = s;
        t.Check(chars.Length == 7 && chars[0] == 'S', "string to ReadOnlySpan<char>");
        fixed (char* p = s) t.Check(p[1] == 'h', "fixed (char* p = string)");
    }

    private static ReadOnlySpan<byte> ByteTable => new byte[] { 1, 2, 3, 250 };
    private static ReadOnlySpan<ulong> WordTable => new ulong[] { 1, 1UL << 40, ulong.MaxValue };
    private static readonly uint[] s_frozenArray = { 10, 20, 30 };

    private static void ConstantData(ref TestContext t)
    {
        t.Equal(ByteTable[3], 250, "ReadOnlySpan<byte> over constant data");
        t.Equal((ulong)ByteTable.Length, 4, "ReadOnlySpan<byte> length");
        t.Equal(WordTable[1], 1UL << 40, "ReadOnlySpan<ulong> over constant data (RuntimeHelpers.CreateSpan)");
        t.Equal(WordTable[2], ulong.MaxValue, "ReadOnlySpan<ulong> last element");
        ReadOnlySpan<byte> utf8 = "e820"u8;
        t.Check(utf8.Length == 4 && utf8[0] == (byte)'e', "u8 literal");
        int i = 2;
        t.Equal(s_frozenArray[i], 30, "static readonly array (frozen by ilc)");
        t.Equal((ulong)s_frozenArray.Length, 3, "static readonly array length");
    }

    /// <summary>Boxing allocates, so this runs with the test fixture allocator (KernelTests).</summary>
    private static void BoxedEquals(ref TestContext t)
    {
        KernelTests.WithFixtureHeap(ref t, &BoxedEqualsCore);
    }

    private static void BoxedEqualsCore(ref TestContext t)
    {
        PhysAddr a = PhysAddr.New(0x1000);
        PhysAddr b = PhysAddr.New(0x1000);
        PhysAddr c = PhysAddr.New(0x2000);
        object boxedB = b;
        t.Check(a.Equals(boxedB), "PhysAddr.Equals(boxed equal PhysAddr)");
        t.Check(!a.Equals((object)c), "PhysAddr.Equals(boxed other PhysAddr)");
        t.Check(!a.Equals((object)Pfn.NewUnchecked(1)), "PhysAddr.Equals(boxed Pfn) is false");
        t.Check(!a.Equals(null), "PhysAddr.Equals(null) is false");
        t.Check(boxedB is PhysAddr, "is on a boxed struct");
        t.Equal(((PhysAddr)boxedB).Value, 0x1000, "unbox");
    }
}

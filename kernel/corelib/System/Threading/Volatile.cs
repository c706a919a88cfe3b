using System.Runtime.CompilerServices;

namespace System.Threading
{
    /// <summary>
    /// Reads and writes the compiler may not cache, drop or move across each other: a spin loop
    /// that reads a lock word through <see cref="Read(ref readonly int)"/> reads memory each time.
    /// x86 orders loads and stores itself (TSO), so no fence instruction is needed; the
    /// <c>volatile</c> field of the wrapper structs is what tells the code generator.
    /// </summary>
    public static unsafe class Volatile
    {
        private struct VolatileInt32 { public volatile int Value; }
        private struct VolatileUInt32 { public volatile uint Value; }
        private struct VolatileBoolean { public volatile bool Value; }
        private struct VolatileIntPtr { public volatile nint Value; }

        public static int Read(ref readonly int location) => Unsafe.As<int, VolatileInt32>(ref Unsafe.AsRef(in location)).Value;
        public static void Write(ref int location, int value) => Unsafe.As<int, VolatileInt32>(ref location).Value = value;
        public static uint Read(ref readonly uint location) => Unsafe.As<uint, VolatileUInt32>(ref Unsafe.AsRef(in location)).Value;
        public static void Write(ref uint location, uint value) => Unsafe.As<uint, VolatileUInt32>(ref location).Value = value;
        public static bool Read(ref readonly bool location) => Unsafe.As<bool, VolatileBoolean>(ref Unsafe.AsRef(in location)).Value;
        public static void Write(ref bool location, bool value) => Unsafe.As<bool, VolatileBoolean>(ref location).Value = value;
        public static nint Read(ref readonly nint location) => Unsafe.As<nint, VolatileIntPtr>(ref Unsafe.AsRef(in location)).Value;
        public static void Write(ref nint location, nint value) => Unsafe.As<nint, VolatileIntPtr>(ref location).Value = value;
    }
}

using System.Runtime.CompilerServices;

namespace System.Threading
{
    /// <summary>
    /// Atomic read-modify-write operations. The methods marked [Intrinsic] are expanded by ilc's
    /// code generator into one locked instruction (<c>lock cmpxchg</c>, <c>xchg</c>,
    /// <c>lock xadd</c>); their bodies (a call to themselves) are never used. Only the 32-bit forms
    /// are expanded on both targets: the 64-bit forms need <c>cmpxchg8b</c> helpers on i386, so the
    /// library uses 32-bit atomics only. The uint forms reinterpret the int ones, as .NET's do.
    /// </summary>
    public static class Interlocked
    {
        [Intrinsic] public static int CompareExchange(ref int location1, int value, int comparand) => CompareExchange(ref location1, value, comparand);
        [Intrinsic] public static int Exchange(ref int location1, int value) => Exchange(ref location1, value);
        [Intrinsic] internal static int ExchangeAdd(ref int location1, int value) => ExchangeAdd(ref location1, value);

        /// <summary>x86-64 only (see the type's remarks).</summary>
        [Intrinsic] public static long CompareExchange(ref long location1, long value, long comparand) => CompareExchange(ref location1, value, comparand);
        /// <summary>x86-64 only (see the type's remarks).</summary>
        [Intrinsic] public static long Exchange(ref long location1, long value) => Exchange(ref location1, value);
        [Intrinsic] internal static long ExchangeAdd(ref long location1, long value) => ExchangeAdd(ref location1, value);

        public static uint CompareExchange(ref uint location1, uint value, uint comparand) =>
            (uint)CompareExchange(ref Unsafe.As<uint, int>(ref location1), (int)value, (int)comparand);
        public static uint Exchange(ref uint location1, uint value) => (uint)Exchange(ref Unsafe.As<uint, int>(ref location1), (int)value);

        /// <summary>Adds and returns the new value.</summary>
        public static int Add(ref int location1, int value) => ExchangeAdd(ref location1, value) + value;
        /// <summary>Adds and returns the new value.</summary>
        public static uint Add(ref uint location1, uint value) => (uint)Add(ref Unsafe.As<uint, int>(ref location1), (int)value);
        /// <summary>x86-64 only. Adds and returns the new value.</summary>
        public static long Add(ref long location1, long value) => ExchangeAdd(ref location1, value) + value;

        public static int Increment(ref int location) => Add(ref location, 1);
        public static int Decrement(ref int location) => Add(ref location, -1);
        public static uint Increment(ref uint location) => Add(ref location, 1u);
        public static uint Decrement(ref uint location) => Add(ref location, unchecked((uint)-1));
    }
}

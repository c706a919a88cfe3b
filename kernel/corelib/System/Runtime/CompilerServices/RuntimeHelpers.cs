namespace System.Runtime.CompilerServices
{
    /// <summary>Compiler-facing runtime services.</summary>
    public static class RuntimeHelpers
    {
        /// <summary>Copies the constant data of a static array initialiser. ilc evaluates it at
        /// compile time when it preinitialises a static readonly array; a call that survives to
        /// run time panics (there is no reflection data to read the field from).</summary>
        [Intrinsic]
        public static void InitializeArray(Array array, RuntimeFieldHandle fldHandle)
        {
            Environment.FailFast("RuntimeHelpers.InitializeArray: not available freestanding");
        }

        /// <summary>A span over constant data in the image: what the compiler emits for
        /// <c>static ReadOnlySpan&lt;int&gt; X =&gt; new int[] { ... }</c> (element types wider than a
        /// byte). The JIT expands it to the address of the data; a call that survives to run time
        /// panics.</summary>
        [Intrinsic]
        public static ReadOnlySpan<T> CreateSpan<T>(RuntimeFieldHandle fldHandle)
        {
            Environment.FailFast("RuntimeHelpers.CreateSpan: not expanded by the compiler");
            return default;
        }

        /// <summary>Offset of the first character from a string reference (for <c>fixed</c>):
        /// the MethodTable pointer (8) and the length (4).</summary>
        public static int OffsetToStringData => 12;

        /// <summary>True when <typeparamref name="T"/> is or contains a reference (ilc answers it at compile time).</summary>
        [Intrinsic]
        public static bool IsReferenceOrContainsReferences<T>() => true;
    }
}

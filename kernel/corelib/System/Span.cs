using System.Runtime.CompilerServices;

namespace System
{
    /// <summary>
    /// A bounds-checked view of contiguous memory: a reference to the first element and a length.
    /// Provided: the (pointer, length) and (ref, length) constructors, <see cref="Length"/>,
    /// the indexer, <see cref="Slice(int)"/>, <see cref="Clear"/>, <see cref="Fill"/>,
    /// <see cref="CopyTo"/>, <see cref="IsEmpty"/>, <see cref="GetPinnableReference"/>.
    /// </summary>
    public readonly ref struct Span<T>
    {
        internal readonly ref T _reference;
        private readonly int _length;

        /// <summary>A span over <paramref name="length"/> elements at <paramref name="pointer"/>.
        /// Panics on a negative length.</summary>
        public unsafe Span(void* pointer, int length)
        {
            if (length < 0) Internal.Runtime.CompilerHelpers.ThrowHelpers.ThrowArgumentOutOfRangeException();
            _reference = ref Unsafe.AsRef<T>(pointer);
            _length = length;
        }

        /// <summary>A span over <paramref name="length"/> elements starting at <paramref name="reference"/>.</summary>
        public Span(ref T reference, int length)
        {
            _reference = ref reference;
            _length = length;
        }

        /// <summary>A span over all of <paramref name="array"/> (empty for null).</summary>
        public Span(T[] array)
        {
            if (array == null) { this = default; return; }
            _reference = ref Unsafe.As<byte, T>(ref Unsafe.As<RawArrayData>(array).Data);
            _length = array.Length;
        }

        /// <summary><paramref name="length"/> elements of <paramref name="array"/> from
        /// <paramref name="start"/>; panics when out of range.</summary>
        public Span(T[] array, int start, int length)
        {
            if (array == null)
            {
                if (start != 0 || length != 0) Internal.Runtime.CompilerHelpers.ThrowHelpers.ThrowArgumentOutOfRangeException();
                this = default;
                return;
            }
            if ((ulong)(uint)start + (ulong)(uint)length > (ulong)(uint)array.Length)
                Internal.Runtime.CompilerHelpers.ThrowHelpers.ThrowArgumentOutOfRangeException();
            _reference = ref Unsafe.Add(ref Unsafe.As<byte, T>(ref Unsafe.As<RawArrayData>(array).Data), (nint)(uint)start);
            _length = length;
        }

        /// <summary>The span over an array (empty for null).</summary>
        public static implicit operator Span<T>(T[] array) => new Span<T>(array);

        /// <summary>Number of elements.</summary>
        public int Length => _length;

        /// <summary>True when the span holds no element.</summary>
        public bool IsEmpty => _length == 0;

        /// <summary>Element <paramref name="index"/>; panics when out of range.</summary>
        public ref T this[int index]
        {
            get
            {
                if ((uint)index >= (uint)_length) Internal.Runtime.CompilerHelpers.ThrowHelpers.ThrowIndexOutOfRangeException();
                return ref Unsafe.Add(ref _reference, (nint)(uint)index);
            }
        }

        /// <summary>The elements from <paramref name="start"/> on; panics when out of range.</summary>
        public Span<T> Slice(int start)
        {
            if ((uint)start > (uint)_length) Internal.Runtime.CompilerHelpers.ThrowHelpers.ThrowArgumentOutOfRangeException();
            return new Span<T>(ref Unsafe.Add(ref _reference, (nint)(uint)start), _length - start);
        }

        /// <summary><paramref name="length"/> elements from <paramref name="start"/>; panics when out of range.</summary>
        public Span<T> Slice(int start, int length)
        {
            if ((ulong)(uint)start + (ulong)(uint)length > (ulong)(uint)_length)
                Internal.Runtime.CompilerHelpers.ThrowHelpers.ThrowArgumentOutOfRangeException();
            return new Span<T>(ref Unsafe.Add(ref _reference, (nint)(uint)start), length);
        }

        /// <summary>Sets every element to default.</summary>
        public unsafe void Clear()
        {
            Unsafe.InitBlockUnaligned(ref Unsafe.As<T, byte>(ref _reference), 0, (uint)(_length * Unsafe.SizeOf<T>()));
        }

        /// <summary>Sets every element to <paramref name="value"/>.</summary>
        public void Fill(T value)
        {
            for (int i = 0; i < _length; i++) Unsafe.Add(ref _reference, (nint)i) = value;
        }

        /// <summary>Copies every element to <paramref name="destination"/>; panics when it is shorter.
        /// The ranges may overlap.</summary>
        public void CopyTo(Span<T> destination)
        {
            if ((uint)_length > (uint)destination.Length) Internal.Runtime.CompilerHelpers.ThrowHelpers.ThrowArgumentOutOfRangeException();
            Buffer.Memmove(ref Unsafe.As<T, byte>(ref destination._reference), ref Unsafe.As<T, byte>(ref _reference), (nuint)_length * (nuint)Unsafe.SizeOf<T>());
        }

        /// <summary>For <c>fixed (T* p = span)</c>: a reference to element 0 (or a null reference when empty).</summary>
        public ref T GetPinnableReference() => ref (_length != 0) ? ref _reference : ref Unsafe.NullRef<T>();

        /// <summary>An empty span.</summary>
        public static Span<T> Empty => default;

        public static implicit operator ReadOnlySpan<T>(Span<T> span) => new ReadOnlySpan<T>(ref span._reference, span._length);
    }
}

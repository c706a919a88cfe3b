namespace System
{
    /// <summary>The primitive <c>int</c>. ilc lays it out itself; the field only gives
    /// members a way to name the value.</summary>
    public readonly struct Int32
    {
        private readonly int m_value;

        /// <summary>The largest value.</summary>
        public const int MaxValue = 0x7FFFFFFF;
        /// <summary>The smallest value.</summary>
        public const int MinValue = unchecked((int)0x80000000);

        public bool Equals(int other) => m_value == other;
        public override bool Equals(object obj) => obj is int v && v == m_value;
        public int CompareTo(int other) => m_value < other ? -1 : m_value > other ? 1 : 0;
        public override int GetHashCode() => (int)m_value;
    }
}

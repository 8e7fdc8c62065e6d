import { buildSchema as buildSdl } from 'graphql';
import { describe, expect, it } from 'vitest';
import { buildSchema } from '../src/schema.js';
import { undescribed } from './schema-walk.js';

describe('every public element of the schema is described', () => {
  it('has a description on every type, field, argument, input field, enum value and scalar', () => {
    expect(undescribed(buildSchema())).toEqual([]);
  });

  it('the check names each undescribed element', () => {
    const bare = buildSdl(`
      scalar Money
      """Described"""
      enum Level { LOW }
      input Filter { q: String }
      type Query { items(first: Int, filter: Filter): [Int] level: Level money: Money }
    `);
    expect(undescribed(bare)).toEqual([
      'argument Query.items(filter:)',
      'argument Query.items(first:)',
      'enum value Level.LOW',
      'field Query.items',
      'field Query.level',
      'field Query.money',
      'input field Filter.q',
      'scalar Money: specifiedByURL',
      'type Filter',
      'type Money',
      'type Query',
    ]);
  });

  it('describes limits, not only names: the page size and its unit appear where a page is asked for', () => {
    const query = buildSchema().getQueryType()!;
    const first = query.getFields().contacts.args.find((a) => a.name === 'first');
    expect(first?.description).toMatch(/1 to 200/);
  });
});

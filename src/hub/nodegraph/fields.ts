/**
 * `/nodegraph/api/graph/fields`: the field definitions Grafana's Node Graph API datasource keeps
 * (only declared fields survive). k8spacket's fields.json with its mode's display names and colours
 * filled in, in its order; podwire adds the arcs' names (the legend reads them), `arc__3` ("No data")
 * and `detail__*` fields, declared after k8spacket's.
 */
import { MODE_LOOKS, NO_DATA_ARC, type StatsType } from './stats.js';

export interface FieldDefinition {
  field_name: string;
  type: 'string' | 'number';
  color?: string;
  displayName?: string;
}

export interface FieldsResponse {
  edges_fields: FieldDefinition[];
  nodes_fields: FieldDefinition[];
}

export function graphFields(mode: StatsType): FieldsResponse {
  const look = MODE_LOOKS[mode];
  return {
    edges_fields: [
      { field_name: 'id', type: 'string' },
      { field_name: 'source', type: 'string' },
      { field_name: 'target', type: 'string' },
      { field_name: 'mainStat', type: 'string' },
      { field_name: 'secondaryStat', type: 'string' },
    ],
    nodes_fields: [
      { field_name: 'id', type: 'string' },
      { field_name: 'title', type: 'string' },
      { field_name: 'subTitle', type: 'string' },
      { field_name: 'mainStat', displayName: look.mainStat.displayName, type: 'string' },
      { field_name: 'secondaryStat', displayName: look.secondaryStat.displayName, type: 'string' },
      { color: look.arc1.color!, field_name: 'arc__1', type: 'number', displayName: look.arc1.displayName },
      { color: look.arc2.color!, field_name: 'arc__2', type: 'number', displayName: look.arc2.displayName },
      {
        color: NO_DATA_ARC.color!,
        field_name: 'arc__3',
        type: 'number',
        displayName: NO_DATA_ARC.displayName,
      },
      { field_name: 'detail__namespace', type: 'string', displayName: 'Namespace' },
      { field_name: 'detail__kind', type: 'string', displayName: 'Kind' },
      { field_name: 'detail__workload', type: 'string', displayName: 'Workload' },
    ],
  };
}
